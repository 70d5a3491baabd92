/** A bill's content hash recomputed from what is stored now, as an attacker who rewrites a bill would. */
import type { Knex } from 'knex';
import { contentHashOf } from '../../server/snapshots/content-hash';
import { getSnapshotDetail } from '../../server/snapshots/read';

export async function recompute(knex: Knex, id: number): Promise<string> {
  const { invoice_number } = await knex('billing_snapshots').where('id', id).first('invoice_number');
  const { billing_data, line_items, ...fields } = await getSnapshotDetail(knex, invoice_number);
  return contentHashOf(fields, billing_data, line_items);
}
