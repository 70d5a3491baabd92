/**
 * A bill's billing data is stored as the text its content hash covers: its canonical JSON
 * (RFC 8785), in a `json` column, which keeps text exactly as given (jsonb keeps a parsed
 * value, written back in an order of its own). What is hashed is then exactly what is stored,
 * byte for byte, and `archive verify` hashes the stored text without parsing and writing it
 * again (it still does both for a text that is not canonical: bills archived before this
 * migration hold jsonb's text of the same value, which is left as it is).
 *
 * A change of type, not an UPDATE: no archived value changes, and the row triggers do not fire.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE billing_snapshots
    DROP CONSTRAINT billing_snapshots_billing_data_object,
    ALTER COLUMN billing_data_json TYPE json USING billing_data_json::json,
    ADD CONSTRAINT billing_snapshots_billing_data_object CHECK (json_typeof(billing_data_json) = 'object')`);
  await knex.raw(`COMMENT ON COLUMN billing_snapshots.billing_data_json IS
    'The billing data as its canonical JSON text (RFC 8785), the text the content hash covers; bills archived before 2026-12-02 hold jsonb''s text of it.'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE billing_snapshots
    DROP CONSTRAINT billing_snapshots_billing_data_object,
    ALTER COLUMN billing_data_json TYPE jsonb USING billing_data_json::jsonb,
    ADD CONSTRAINT billing_snapshots_billing_data_object CHECK (jsonb_typeof(billing_data_json) = 'object')`);
}
