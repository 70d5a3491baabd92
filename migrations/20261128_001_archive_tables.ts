/**
 * The archive itself: bills and their line items, append-only in the database.
 * Irreversible: an archive's tables are never dropped by a migration.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('billing_snapshots', (t) => {
    t.bigIncrements('id');
    t.string('company_account_number', 50).notNullable();
    t.string('company_name', 150);
    t.string('invoice_number', 50).notNullable().unique({ indexName: 'billing_snapshots_invoice_number_key' });
    t.integer('billing_year').notNullable();
    t.integer('billing_month').notNullable();
    t.date('invoice_date').notNullable();
    t.date('due_date');
    t.string('billing_plan', 100);
    t.string('contract_term', 50);
    t.string('support_level', 100);
    t.decimal('total_amount', 12, 2).notNullable();
    t.decimal('total_user_charges', 12, 2);
    t.decimal('total_asset_charges', 12, 2);
    t.decimal('total_backup_charges', 12, 2);
    t.decimal('total_ticket_charges', 12, 2);
    t.decimal('total_line_item_charges', 12, 2);
    t.integer('user_count');
    t.integer('asset_count');
    t.decimal('billable_hours', 10, 2);
    t.jsonb('billing_data_json').notNullable();
    t.text('invoice_csv').notNullable();
    t.text('raw_body').comment('the request body exactly as posted: evidence of what Ledger sent');
    t.string('created_by', 100);
    t.text('notes');
    t.integer('line_item_count').notNullable().defaultTo(0);
    t.specificType('content_hash', 'char(64)').notNullable();
    t.jsonb('warnings').notNullable().defaultTo('[]');
    t.string('source', 20).notNullable().defaultTo('ledger_post');
    t.timestamp('archived_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['company_account_number', 'billing_year', 'billing_month'], { indexName: 'billing_snapshots_company_period_key' });
  });
  await knex.raw(`ALTER TABLE billing_snapshots
    ADD CONSTRAINT billing_snapshots_account_not_empty CHECK (btrim(company_account_number) <> ''),
    ADD CONSTRAINT billing_snapshots_invoice_not_empty CHECK (btrim(invoice_number) <> ''),
    ADD CONSTRAINT billing_snapshots_month_range CHECK (billing_month BETWEEN 1 AND 12),
    ADD CONSTRAINT billing_snapshots_year_range CHECK (billing_year BETWEEN 2000 AND 2100),
    ADD CONSTRAINT billing_snapshots_hash_hex CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    ADD CONSTRAINT billing_snapshots_source_known CHECK (source IN ('ledger_post', 'run', 'legacy_import')),
    ADD CONSTRAINT billing_snapshots_billing_data_object CHECK (jsonb_typeof(billing_data_json) = 'object')`);

  await knex.schema.createTable('snapshot_line_items', (t) => {
    t.bigIncrements('id');
    t.bigInteger('snapshot_id').notNullable().references('id').inTable('billing_snapshots').onDelete('RESTRICT');
    t.integer('position').notNullable();
    t.string('line_type', 50).notNullable();
    t.string('item_name', 255).notNullable();
    t.text('description');
    t.decimal('quantity', 10, 2).notNullable();
    t.decimal('rate', 12, 2).notNullable();
    t.decimal('amount', 12, 2).notNullable();
    t.unique(['snapshot_id', 'position'], { indexName: 'snapshot_line_items_snapshot_position_key' });
  });
  await knex.raw(`ALTER TABLE snapshot_line_items
    ADD CONSTRAINT snapshot_line_items_type_known CHECK (line_type IN ('user', 'asset', 'backup', 'ticket', 'custom'))`);

  // The JSON, the CSV and the raw body are ~36 KB a bill: lz4 compresses them several times
  // faster than the default pglz, where the server has it (PGlite does not).
  await knex.raw(`DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE billing_snapshots
          ALTER COLUMN billing_data_json SET COMPRESSION lz4,
          ALTER COLUMN invoice_csv SET COMPRESSION lz4,
          ALTER COLUMN raw_body SET COMPRESSION lz4;
      END IF;
    END $$`);

  // Immutability lives here, not in the absence of an endpoint.
  await knex.raw(`CREATE FUNCTION archive_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'archived rows are immutable: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation',
              HINT = 'A bill is archived once and forever; archive a corrected bill under a new invoice instead.';
    END $$`);
  for (const table of ['billing_snapshots', 'snapshot_line_items']) {
    await knex.raw(`CREATE TRIGGER ${table}_immutable BEFORE UPDATE OR DELETE ON ${table}
      FOR EACH ROW EXECUTE FUNCTION archive_refuse_change()`);
    await knex.raw(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table}
      FOR EACH STATEMENT EXECUTE FUNCTION archive_refuse_change()`);
  }
  // Line items may only be added in the transaction that archived their bill: nothing
  // can be slipped into a bill afterwards.
  await knex.raw(`CREATE FUNCTION archive_line_items_same_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (
        SELECT 1 FROM new_rows n JOIN billing_snapshots s ON s.id = n.snapshot_id
        WHERE s.xmin <> xid(pg_current_xact_id())
      ) THEN
        RAISE EXCEPTION 'archived rows are immutable: line items cannot be added to a bill archived earlier'
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER snapshot_line_items_same_transaction AFTER INSERT ON snapshot_line_items
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION archive_line_items_same_transaction()`);

  // An exact running count of archived bills. Rows are never deleted, so counters bumped by
  // every insert statement are exact, and an unfiltered search or the dashboard need not count
  // a million rows. The count is spread over 64 slots chosen by backend, so concurrent
  // inserts on different connections never wait for each other's commit on one counter row.
  await knex.schema.createTable('archive_counters', (t) => {
    t.string('name', 50).notNullable();
    t.integer('slot').notNullable();
    t.bigInteger('value').notNullable();
    t.primary(['name', 'slot']);
  });
  await knex.raw(`CREATE FUNCTION archive_count_snapshots() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO archive_counters AS c (name, slot, value)
        SELECT 'billing_snapshots', pg_backend_pid() % 64, count(*) FROM new_rows
        ON CONFLICT (name, slot) DO UPDATE SET value = c.value + EXCLUDED.value;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER billing_snapshots_count AFTER INSERT ON billing_snapshots
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION archive_count_snapshots()`);

  // The guide's "Performance Tuning" indexes, and what search needs at a million rows.
  await knex.raw(`CREATE INDEX idx_snapshots_company_date ON billing_snapshots (company_account_number, billing_year DESC, billing_month DESC)`);
  await knex.raw(`CREATE INDEX idx_snapshots_archived ON billing_snapshots (archived_at DESC, id DESC)`);
  // The default order (newest archived first) within one month: no sort of a whole month.
  await knex.raw(`CREATE INDEX idx_snapshots_period_archived ON billing_snapshots (billing_year, billing_month, archived_at DESC, id DESC)`);
  await knex.raw(`CREATE INDEX idx_snapshots_period ON billing_snapshots (billing_year DESC, billing_month DESC)`);
  await knex.raw(`CREATE INDEX idx_snapshots_total ON billing_snapshots (total_amount)`);
  await knex.raw(`CREATE INDEX idx_snapshots_company_name ON billing_snapshots (lower(company_name))`);
  await knex.raw(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
  await knex.raw(`CREATE INDEX idx_snapshots_company_name_trgm ON billing_snapshots USING gin (lower(company_name) gin_trgm_ops)`);
}

export async function down(): Promise<void> {
  throw new Error('The archive tables are never dropped by a migration: this migration is irreversible.');
}
