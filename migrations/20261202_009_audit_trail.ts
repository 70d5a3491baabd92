/**
 * The audit trail: who did what, append-only like the bills, and each entry a leaf of the
 * tamper-evident log (kind `audit`, its leaf `archive/audit/v1\n<entry id>\n<entry hash>\n`),
 * so the trail itself cannot be rewritten unnoticed. `entry_hash` is the SHA-256 of the
 * entry's canonical JSON (server/audit/trail.ts), computed before the insert; `archive verify`
 * recomputes it. The actions a server writes are listed in shared/api.ts (AUDIT_ACTIONS).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    action text NOT NULL CHECK (action ~ '^[a-z]+[.][a-z_]+$'),
    subject text,
    period text CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    request_id text,
    client text,
    details jsonb NOT NULL DEFAULT '{}',
    entry_hash char(64) NOT NULL CHECK (entry_hash ~ '^[0-9a-f]{64}$')
  )`);
  await knex.raw(`CREATE INDEX idx_audit_at ON audit_log (at DESC, id DESC)`);
  await knex.raw(`CREATE INDEX idx_audit_actor ON audit_log (actor, at DESC)`);
  await knex.raw(`CREATE INDEX idx_audit_action ON audit_log (action, at DESC)`);
  await knex.raw(`CREATE INDEX idx_audit_subject ON audit_log (subject, at DESC)`);
  await knex.raw(`CREATE INDEX idx_audit_period ON audit_log (period, at DESC)`);
  await knex.raw(`CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION archive_refuse_change()`);
  await knex.raw(`CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION archive_refuse_change()`);
  await knex.raw(`CREATE FUNCTION archive_queue_audit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO log_queue (kind, ref_id, data)
        SELECT 'audit', id, archive_log_leaf('audit', id::text, entry_hash) FROM new_rows ORDER BY id;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER audit_log_log AFTER INSERT ON audit_log
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION archive_queue_audit()`);
}

export async function down(): Promise<void> {
  throw new Error('The audit trail is never dropped by a migration: this migration is irreversible.');
}
