/**
 * A database in the earlier Python Archive's schema (docs/contract.md section 6: text
 * timestamps, JSON as text, numeric(10,2), no uniqueness per period), filled with real-shaped
 * rows: what `archive import-legacy` reads in the tests and the benchmark.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { CANONICAL_SNAPSHOT_FIELDS } from '../../shared/canonical';

/** The old tables (docs/legacy-schema.sql: the contract's section 6 as DDL). */
export const LEGACY_SCHEMA = fs.readFileSync(path.resolve(import.meta.dirname, '../../docs/legacy-schema.sql'), 'utf8');

/** Old rows as the Python Archive wrote them from a posted bill (PostgreSQL rounds the floats into numeric(10,2)). */
export async function insertLegacyBills(knex: Knex, bills: { body: Record<string, any>; archivedAt?: string; withoutLines?: boolean; billingDataText?: string }[]): Promise<number[]> {
  const rows = bills.map((b) => ({
    ...Object.fromEntries(CANONICAL_SNAPSHOT_FIELDS.map((f) => [f, b.body[f] ?? null])),
    archived_at: b.archivedAt ?? '2026-02-01T09:15:00.123456',
    billing_data_json: b.billingDataText ?? JSON.stringify(b.body.billing_data_json),
  }));
  const ids = (await knex('billing_snapshots').insert(rows).returning('id')).map((r: { id: number }) => r.id);
  const lines = bills.flatMap((b, i) =>
    b.withoutLines
      ? []
      : (b.body.line_items as Record<string, unknown>[]).map((l) => ({
          snapshot_id: ids[i],
          line_type: l.line_type,
          item_name: l.item_name,
          description: l.description ?? null,
          quantity: l.quantity,
          rate: l.rate,
          amount: l.amount,
        })),
  );
  for (let i = 0; i < lines.length; i += 5000) await knex('snapshot_line_items').insert(lines.slice(i, i + 5000));
  return ids;
}
