/** Reading archived bills back: one bill with its line items, list rows, raw evidence. */
import type { SnapshotDetail, SnapshotSummary, SnapshotWarning } from '../../shared/api';
import { ApiError } from '../http/errors';
import { Snapshot } from '../models/Snapshot';

export function toSummary(s: Pick<Snapshot, (typeof Snapshot.SUMMARY_COLUMNS)[number]>): SnapshotSummary {
  return {
    id: Number(s.id),
    company_account_number: s.company_account_number,
    company_name: s.company_name,
    invoice_number: s.invoice_number,
    billing_year: s.billing_year,
    billing_month: s.billing_month,
    invoice_date: s.invoice_date,
    due_date: s.due_date,
    billing_plan: s.billing_plan,
    total_amount: s.total_amount,
    user_count: s.user_count,
    asset_count: s.asset_count,
    line_item_count: s.line_item_count,
    content_hash: s.content_hash,
    has_warnings: Array.isArray(s.warnings) && s.warnings.length > 0,
    archived_at: new Date(s.archived_at).toISOString(),
  };
}

export async function getSnapshotDetail(invoiceNumber: string): Promise<SnapshotDetail> {
  const s = await Snapshot.query()
    .findOne({ invoice_number: invoiceNumber })
    .withGraphFetched('lineItems(ordered)')
    .modifiers({ ordered: (q) => q.orderBy('position') });
  if (!s) throw notFound(invoiceNumber);
  const { has_warnings: _unused, ...summary } = toSummary(s);
  return {
    ...summary,
    contract_term: s.contract_term,
    support_level: s.support_level,
    total_user_charges: s.total_user_charges,
    total_asset_charges: s.total_asset_charges,
    total_backup_charges: s.total_backup_charges,
    total_ticket_charges: s.total_ticket_charges,
    total_line_item_charges: s.total_line_item_charges,
    billable_hours: s.billable_hours,
    created_by: s.created_by,
    notes: s.notes,
    source: s.source,
    warnings: s.warnings as SnapshotWarning[],
    billing_data: s.billing_data_json,
    invoice_csv: s.invoice_csv,
    line_items: (s.lineItems ?? []).map((li) => ({
      line_type: li.line_type,
      item_name: li.item_name,
      description: li.description,
      quantity: li.quantity,
      rate: li.rate,
      amount: li.amount,
    })),
  } as SnapshotDetail;
}

export async function getSnapshotColumns<K extends keyof Snapshot>(invoiceNumber: string, columns: K[]): Promise<Pick<Snapshot, K>> {
  const s = await Snapshot.query().select(columns as string[]).findOne({ invoice_number: invoiceNumber });
  if (!s) throw notFound(invoiceNumber);
  return s;
}

export async function snapshotExists(invoiceNumber: string): Promise<boolean> {
  return (await Snapshot.query().select('id').findOne({ invoice_number: invoiceNumber })) !== undefined;
}

function notFound(invoiceNumber: string): ApiError {
  return new ApiError('not_found', `No archived bill with invoice number ${invoiceNumber}`, { invoice_number: invoiceNumber });
}

/** `<Company_Name>_<YYYY>-<MM>.csv`: spaces to `_`, only letters, digits, `_` and `-` kept. */
export function csvFileName(companyName: string | null, accountNumber: string, year: number, month: number): string {
  const base = (companyName ?? '').replace(/ /g, '_').replace(/[^\p{L}\p{N}_-]/gu, '');
  return `${base || accountNumber}_${year}-${String(month).padStart(2, '0')}.csv`;
}
