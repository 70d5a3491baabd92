/** Reading archived bills back: one bill with its line items, list rows, raw evidence. */
import type { Knex } from 'knex';
import { LINES_DIGEST_SQL } from './lines-digest';
import { CANONICAL_SNAPSHOT_FIELDS } from '../../shared/canonical';
import type { SnapshotDetail, SnapshotWarning } from '../../shared/api';
import { ArchiveError } from '../errors';
import { Snapshot } from '../models/Snapshot';

/** A bill's columns as the API serves it: the hashed fields (said once, in shared/canonical.ts) and the server's own. */
const DETAIL_COLUMNS = ['id', ...CANONICAL_SNAPSHOT_FIELDS, 'billing_data_json', 'line_item_count', 'content_hash', 'warnings', 'source', 'archived_at'];

/** A bill with its line items in one round trip (the lines as one JSON array, money as text). */
export async function getSnapshotDetail(knex: Knex, invoiceNumber: string): Promise<SnapshotDetail> {
  const s = await knex('billing_snapshots as s')
    .select(DETAIL_COLUMNS.map((c) => `s.${c}`))
    .select(
      knex.raw(`(SELECT coalesce(json_agg(json_build_object(
          'line_type', li.line_type, 'item_name', li.item_name, 'description', li.description,
          'quantity', li.quantity::text, 'rate', li.rate::text, 'amount', li.amount::text) ORDER BY li.position), '[]'::json)
        FROM snapshot_line_items li WHERE li.snapshot_id = s.id) AS line_items`),
    )
    .where('s.invoice_number', invoiceNumber)
    .first();
  if (!s) throw notFound(invoiceNumber);
  const { billing_data_json, line_items, warnings, ...fields } = s;
  return {
    ...fields,
    id: Number(s.id),
    archived_at: new Date(s.archived_at).toISOString(),
    warnings: warnings as SnapshotWarning[],
    billing_data: billing_data_json,
    line_items: typeof line_items === 'string' ? JSON.parse(line_items) : line_items,
  } as SnapshotDetail;
}

export async function getSnapshotColumns<K extends keyof Snapshot>(knex: Knex, invoiceNumber: string, columns: K[]): Promise<Pick<Snapshot, K>> {
  const s = await Snapshot.query(knex)
    .select(columns as string[])
    .findOne({ invoice_number: invoiceNumber });
  if (!s) throw notFound(invoiceNumber);
  return s;
}

/** SQL: whether another account's bills carry this company name too (case folded, on the lower(company_name) index). */
const NAME_SHARED = (name: string, account: string) => `EXISTS (SELECT 1 FROM billing_snapshots o WHERE lower(o.company_name) = lower(${name}) AND o.company_account_number <> ${account})`;

/** Whether another account's bills carry this company name too: then file names add the account. */
export async function nameIsShared(knex: Knex, companyName: string | null, accountNumber: string): Promise<boolean> {
  if (!companyName) return false;
  const { rows } = (await knex.raw(`SELECT ${NAME_SHARED('?', '?')} AS shared`, [companyName, accountNumber])) as { rows: { shared: boolean }[] };
  return rows[0].shared;
}

/** A bill's CSV and what its file is named by, in one query (the hot path of downloads). */
export async function getBillCsv(
  knex: Knex,
  invoiceNumber: string,
): Promise<{ invoice_csv: string; company_name: string | null; company_account_number: string; billing_year: number; billing_month: number; name_shared: boolean }> {
  const s = await knex('billing_snapshots as s')
    .where('s.invoice_number', invoiceNumber)
    .first('s.invoice_csv', 's.company_name', 's.company_account_number', 's.billing_year', 's.billing_month', knex.raw(`${NAME_SHARED('s.company_name', 's.company_account_number')} AS name_shared`));
  if (!s) throw notFound(invoiceNumber);
  return s;
}

function notFound(invoiceNumber: string): ArchiveError {
  return new ArchiveError('not_found', `No archived bill with invoice number ${invoiceNumber}`, { invoice_number: invoiceNumber });
}

/** What a run compares a fresh bill with: an archived bill's total, hash and a digest of its lines. */
export interface ArchivedBill {
  id: number;
  invoice_number: string;
  total_amount: string;
  content_hash: string;
  lines_digest: string;
}

/** The period's archived bills of these accounts, by account (the lines digest computed in SQL). */
export async function archivedBillsOf(knex: Knex, year: number, month: number, accounts: string[]): Promise<Map<string, ArchivedBill>> {
  const out = new Map<string, ArchivedBill>();
  for (let i = 0; i < accounts.length; i += 5000) {
    const rows = (await knex('billing_snapshots as s')
      .where({ billing_year: year, billing_month: month })
      .whereIn('company_account_number', accounts.slice(i, i + 5000))
      .select(
        's.id',
        's.company_account_number',
        's.invoice_number',
        's.total_amount',
        's.content_hash',
        knex.raw(`(SELECT ${LINES_DIGEST_SQL} FROM snapshot_line_items l WHERE l.snapshot_id = s.id) AS lines_digest`),
      )) as (ArchivedBill & { company_account_number: string })[];
    for (const r of rows) out.set(r.company_account_number, r);
  }
  return out;
}

/** An archived bill's lines in their order, as the comparison reads them. */
export async function archivedLines(knex: Knex, snapshotId: number): Promise<Record<string, string>[]> {
  return (await knex('snapshot_line_items').where({ snapshot_id: snapshotId }).orderBy('position').select('line_type', 'item_name', 'quantity', 'rate', 'amount')) as Record<string, string>[];
}
