/**
 * Corrections. An archived bill is never changed: a correction archives the right bill as a
 * new revision (2, 3, ...) of the same invoice, account and period, linked to the revision it
 * supersedes, with the reason and the token that filed it. Ledger's own posts are revision 1,
 * so its re-post of a differing bill still meets the unique keys (409).
 *
 * A correction is a leaf of its own kind in the log: `archive/correction/v1\n<invoice>\n<digest>\n`,
 * the digest being the SHA-256 of its correction record (archive_correction_record below; the
 * same text in shared/evidence.ts), so the link, the reason and who filed it are as
 * tamper-evident as the bill.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Constant defaults: no table rewrite, and the immutability triggers do not fire.
  await knex.raw(`ALTER TABLE billing_snapshots
    ADD COLUMN revision integer NOT NULL DEFAULT 1,
    ADD COLUMN supersedes_id bigint REFERENCES billing_snapshots (id) ON DELETE RESTRICT,
    ADD COLUMN correction_reason text,
    ADD COLUMN corrected_by text`);
  await knex.raw(`ALTER TABLE billing_snapshots
    ADD CONSTRAINT billing_snapshots_revision_positive CHECK (revision >= 1),
    ADD CONSTRAINT billing_snapshots_correction_complete CHECK (
      (revision = 1) = (supersedes_id IS NULL) AND (revision = 1) = (correction_reason IS NULL) AND (revision = 1) = (corrected_by IS NULL)),
    ADD CONSTRAINT billing_snapshots_reason_length CHECK (correction_reason IS NULL OR char_length(btrim(correction_reason)) BETWEEN 1 AND 2000),
    DROP CONSTRAINT billing_snapshots_source_known,
    ADD CONSTRAINT billing_snapshots_source_known CHECK (source IN ('ledger_post', 'run', 'legacy_import', 'correction', 'correction_ledger')),
    DROP CONSTRAINT billing_snapshots_invoice_number_key,
    ADD CONSTRAINT billing_snapshots_invoice_number_key UNIQUE (invoice_number, revision),
    DROP CONSTRAINT billing_snapshots_company_period_key,
    ADD CONSTRAINT billing_snapshots_company_period_key UNIQUE (company_account_number, billing_year, billing_month, revision),
    ADD CONSTRAINT billing_snapshots_superseded_once UNIQUE (supersedes_id)`);

  // The refusal's hint names the lawful way now.
  await knex.raw(`CREATE OR REPLACE FUNCTION archive_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'archived rows are immutable: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation',
              HINT = 'A bill is archived once and forever; to correct one, an admin files a correction (POST /api/snapshot/<invoice>/corrections), archived as its next revision.';
    END $$`);

  // A correction supersedes the latest revision of the same invoice, account and period (the
  // unique keys make it the latest: one successor per revision, one row per revision number).
  await knex.raw(`CREATE FUNCTION archive_check_correction() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE p billing_snapshots%ROWTYPE;
    BEGIN
      SELECT * INTO p FROM billing_snapshots WHERE id = NEW.supersedes_id;
      IF NOT FOUND OR p.invoice_number <> NEW.invoice_number OR p.company_account_number <> NEW.company_account_number
         OR p.billing_year <> NEW.billing_year OR p.billing_month <> NEW.billing_month OR NEW.revision <> p.revision + 1 THEN
        RAISE EXCEPTION 'a correction must supersede the latest revision of the same invoice, account and period'
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      RETURN NEW;
    END $$`);
  await knex.raw(`CREATE TRIGGER billing_snapshots_correction BEFORE INSERT ON billing_snapshots
    FOR EACH ROW WHEN (NEW.supersedes_id IS NOT NULL) EXECUTE FUNCTION archive_check_correction()`);

  await knex.raw(`CREATE FUNCTION archive_correction_record(invoice text, revision integer, supersedes_hash text, content_hash text, corrected_by text, reason text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
      SELECT 'archive/correction-record/v1' || E'\\n' || invoice || E'\\n' || revision || E'\\n' || supersedes_hash || E'\\n'
        || content_hash || E'\\n' || corrected_by || E'\\n' || reason
    $$`);
  await knex.raw(`CREATE OR REPLACE FUNCTION archive_queue_snapshots() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO log_queue (kind, ref_id, data)
        SELECT CASE WHEN n.supersedes_id IS NULL THEN 'snapshot' ELSE 'correction' END, n.id,
               CASE WHEN n.supersedes_id IS NULL THEN archive_log_leaf('snapshot', n.invoice_number, n.content_hash)
                    ELSE archive_log_leaf('correction', n.invoice_number, encode(sha256(convert_to(
                      archive_correction_record(n.invoice_number, n.revision, p.content_hash, n.content_hash, n.corrected_by, n.correction_reason), 'UTF8')), 'hex'))
               END
          FROM new_rows n LEFT JOIN billing_snapshots p ON p.id = n.supersedes_id ORDER BY n.id;
      RETURN NULL;
    END $$`);

  // The counters also count corrections: the current bills are all rows less those superseded.
  await knex.raw(`CREATE OR REPLACE FUNCTION archive_count_snapshots() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO archive_counters AS c (name, slot, value)
        SELECT k.name, pg_backend_pid() % 64, k.n FROM (
          SELECT 'billing_snapshots' AS name, count(*) AS n FROM new_rows
          UNION ALL SELECT 'corrections', count(*) FILTER (WHERE supersedes_id IS NOT NULL) FROM new_rows) k
         WHERE k.n > 0
        ON CONFLICT (name, slot) DO UPDATE SET value = c.value + EXCLUDED.value;
      RETURN NULL;
    END $$`);
}

export async function down(): Promise<void> {
  throw new Error('Corrections are archived rows: this migration is irreversible.');
}
