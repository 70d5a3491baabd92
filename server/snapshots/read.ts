/** Reading archived bills back: one bill with its line items, list rows, raw evidence. */
import { billFileName } from '../../shared/files';
import type { SnapshotDetail, SnapshotWarning } from '../../shared/api';
import { ArchiveError } from '../errors';
import { Snapshot } from '../models/Snapshot';

const DETAIL_COLUMNS = [
  'id',
  'company_account_number',
  'company_name',
  'invoice_number',
  'billing_year',
  'billing_month',
  'invoice_date',
  'due_date',
  'billing_plan',
  'contract_term',
  'support_level',
  'total_amount',
  'total_user_charges',
  'total_asset_charges',
  'total_backup_charges',
  'total_ticket_charges',
  'total_line_item_charges',
  'user_count',
  'asset_count',
  'billable_hours',
  'created_by',
  'notes',
  'line_item_count',
  'content_hash',
  'warnings',
  'source',
  'archived_at',
  'billing_data_json',
  'invoice_csv',
];

/** A bill with its line items in one round trip (the lines as one JSON array, money as text). */
export async function getSnapshotDetail(invoiceNumber: string): Promise<SnapshotDetail> {
  const knex = Snapshot.knex();
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

export async function getSnapshotColumns<K extends keyof Snapshot>(invoiceNumber: string, columns: K[]): Promise<Pick<Snapshot, K>> {
  const s = await Snapshot.query()
    .select(columns as string[])
    .findOne({ invoice_number: invoiceNumber });
  if (!s) throw notFound(invoiceNumber);
  return s;
}

function notFound(invoiceNumber: string): ArchiveError {
  return new ArchiveError('not_found', `No archived bill with invoice number ${invoiceNumber}`, { invoice_number: invoiceNumber });
}

/** `<Company_Name>_<YYYY>-<MM>.csv`: spaces to `_`, only letters, digits, `_` and `-` kept. */
export function csvFileName(companyName: string | null, accountNumber: string, year: number, month: number): string {
  return billFileName(companyName, accountNumber, year, month, 'csv');
}
