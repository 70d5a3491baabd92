/**
 * Migration 011 changed billing_data_json's type, and a change of type takes the column back
 * to the default compression (pglz): lz4 again, as migration 001 set it, where the server has
 * it (PGlite does not). pglz was the larger part of writing a bill's ~14 KB of billing data.
 * Only values written from now on are compressed with lz4; the stored ones are left as they are
 * (both read back the same text).
 */
import type { Knex } from 'knex';

const SET = (method: string) => `DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND '${method}' = ANY (enumvals)) THEN
      ALTER TABLE billing_snapshots ALTER COLUMN billing_data_json SET COMPRESSION ${method};
    END IF;
  END $$`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(SET('lz4'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(SET('pglz'));
}
