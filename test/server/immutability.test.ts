/** Archived rows are immutable in the database itself: plain SQL cannot change them. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveSnapshot } from '../../server/snapshots/archive';
import { SnapshotPost } from '../../shared/api';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { makeBill } from '../helpers/fixtures';

let db: TestDatabase;
let snapshotId: number;
beforeAll(async () => {
  db = await freshDatabase();
  const created = await archiveSnapshot(db.knex, SnapshotPost.parse(makeBill({ company_account_number: '100001' })), { tolerance: '0.05' });
  snapshotId = created.snapshot_id;
});
afterAll(async () => {
  await db?.drop();
});

const refused = /archived rows are immutable/;

describe('billing_snapshots', () => {
  it('refuses UPDATE', async () => {
    await expect(db.knex.raw(`UPDATE billing_snapshots SET total_amount = 0 WHERE id = ?`, [snapshotId])).rejects.toThrow(refused);
  });
  it('refuses DELETE', async () => {
    await expect(db.knex.raw(`DELETE FROM billing_snapshots WHERE id = ?`, [snapshotId])).rejects.toThrow(refused);
  });
  it('refuses TRUNCATE', async () => {
    await expect(db.knex.raw(`TRUNCATE billing_snapshots CASCADE`)).rejects.toThrow(refused);
  });
  it('refuses a second bill for the same company and month, whatever its invoice number', async () => {
    const row = await db.knex('billing_snapshots').where('id', snapshotId).first();
    const { id: _id, ...copy } = row;
    await expect(db.knex('billing_snapshots').insert({ ...copy, invoice_number: 'other-1' })).rejects.toThrow(/billing_snapshots_company_period_key/);
  });
  it('refuses a month outside 1-12 and an empty account', async () => {
    const row = await db.knex('billing_snapshots').where('id', snapshotId).first();
    const { id: _id, ...copy } = row;
    await expect(db.knex('billing_snapshots').insert({ ...copy, invoice_number: 'x-13', billing_month: 13 })).rejects.toThrow(/billing_snapshots_month_range/);
    await expect(db.knex('billing_snapshots').insert({ ...copy, invoice_number: 'x-14', company_account_number: ' ' })).rejects.toThrow(/billing_snapshots_account_not_empty/);
  });
});

describe('snapshot_line_items', () => {
  it('refuses UPDATE and DELETE', async () => {
    await expect(db.knex.raw(`UPDATE snapshot_line_items SET amount = 999 WHERE snapshot_id = ?`, [snapshotId])).rejects.toThrow(refused);
    await expect(db.knex.raw(`DELETE FROM snapshot_line_items WHERE snapshot_id = ?`, [snapshotId])).rejects.toThrow(refused);
  });
  it('refuses adding a line to a bill archived in an earlier transaction', async () => {
    await expect(db.knex('snapshot_line_items').insert({ snapshot_id: snapshotId, position: 99, line_type: 'custom', item_name: 'Extra', quantity: 1, rate: 5, amount: 5 })).rejects.toThrow(
      /line items cannot be added to a bill archived earlier/,
    );
  });
  it('refuses it also when slipped in beside the lines of a new bill', async () => {
    const copy = await db.knex('billing_snapshots').where('id', snapshotId).first();
    delete copy.id;
    await expect(
      db.knex.raw(
        `WITH s AS (INSERT INTO billing_snapshots SELECT * FROM json_populate_record(NULL::billing_snapshots, ?::json) RETURNING id)
         INSERT INTO snapshot_line_items (snapshot_id, position, line_type, item_name, quantity, rate, amount)
         SELECT id, 1, 'custom', 'New', 1, 1, 1 FROM s UNION ALL SELECT ?, 98, 'custom', 'Slipped', 1, 5, 5`,
        [JSON.stringify({ ...copy, id: 900001, invoice_number: 'x-slip', billing_month: (copy.billing_month % 12) + 1 }), snapshotId],
      ),
    ).rejects.toThrow(/line items cannot be added to a bill archived earlier/);
  });
  it('still holds exactly what was archived', async () => {
    const lines = await db.knex('snapshot_line_items').where('snapshot_id', snapshotId).orderBy('position');
    expect(lines.map((l) => l.amount)).toEqual(['0.10', '0.20']);
    const snap = await db.knex('billing_snapshots').where('id', snapshotId).first();
    expect(snap.total_amount).toBe('0.30');
  });
});

describe('migrations', () => {
  it('the archive tables migration refuses to be rolled back', async () => {
    const { migrationSource } = await import('../../migrations/index');
    const [first] = await migrationSource.getMigrations([]);
    const migration = await migrationSource.getMigration(first);
    await expect(migration.down!(db.knex)).rejects.toThrow(/irreversible/);
  });
});

describe('storage of the big texts', () => {
  it('compresses the billing data, the CSV and the raw body with lz4 where the server has it (migration 011 had reset the first)', async () => {
    const { rows: lz4 } = await db.knex.raw(`SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)`);
    const { rows } = await db.knex.raw(
      `SELECT attname, attcompression FROM pg_attribute WHERE attrelid = 'billing_snapshots'::regclass AND attname IN ('billing_data_json', 'invoice_csv', 'raw_body') ORDER BY attname`,
    );
    const want = lz4.length ? 'l' : '';
    expect(rows).toEqual([
      { attname: 'billing_data_json', attcompression: want },
      { attname: 'invoice_csv', attcompression: want },
      { attname: 'raw_body', attcompression: want },
    ]);
  });
});
