/**
 * An old row of the earlier Archive read as the bill it stands for and checked by the rules of
 * a post, ready to write: the CPU-bound part of `archive import-legacy` (import-legacy.ts),
 * done in worker threads (import-worker.ts) a batch at a time while the main thread writes.
 */
import type { SnapshotPost } from '../../shared/api';
import { CANONICAL_SNAPSHOT_FIELDS } from '../../shared/canonical';
import { zonedTime } from '../../shared/schedule';
import { lineItemsFromReceipt, type BillingReceipt } from '../peers/ledger-bill';
import { prepareSnapshot, type PreparedSnapshot } from '../snapshots/archive';
import { checkSnapshotPost } from '../snapshots/validate';

export type LegacyRow = Record<string, unknown> & { id: number; invoice_number: string | null; company_account_number: string | null; billing_year: number | null; billing_month: number | null };
export type LegacyLine = { snapshot_id: number; line_type: string; item_name: string; description: string | null; quantity: string; rate: string; amount: string };

const HOURS = new Map<string, number>();
const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$/;

/** An old timestamp (local time, no zone) as an instant, read in the old server's zone. */
export function legacyInstant(text: unknown, tz: string): Date | undefined {
  const m = typeof text === 'string' ? LOCAL_TIME.exec(text.trim()) : null;
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s = '0', frac = '0'] = m;
  // Thousands of bills share an hour: the zone's arithmetic (Intl, slow) once per hour.
  const key = `${tz} ${y}-${mo}-${d} ${h}`;
  let hour = HOURS.get(key);
  if (hour === undefined) {
    hour = zonedTime(Number(y), Number(mo), Number(d), Number(h), tz).getTime();
    if (HOURS.size > 100_000) HOURS.clear();
    HOURS.set(key, hour);
  }
  return new Date(hour + Number(mi) * 60_000 + Number(s) * 1000 + Math.floor(Number(`0.${frac}`) * 1000));
}

/** An old date column (text: `2025-10-31`, or with a time) as YYYY-MM-DD; anything else as it is, for the schema to refuse. */
const dateOf = (v: unknown) => (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}([T ].*)?$/.test(v.trim()) ? v.trim().slice(0, 10) : v);

/** The old row as the bill it stands for, in the API's shape. */
function billOf(row: LegacyRow, lines: LegacyLine[], rebuilt: string[]): { body: Record<string, unknown> } | { reason: string } {
  let billingData: unknown;
  try {
    billingData = typeof row.billing_data_json === 'string' ? JSON.parse(row.billing_data_json) : row.billing_data_json;
  } catch (err) {
    return { reason: `billing_data_json is not JSON (${(err as Error).message})` };
  }
  let lineItems: Record<string, unknown>[] = lines.map((l) => ({ line_type: l.line_type, item_name: l.item_name, description: l.description, quantity: l.quantity, rate: l.rate, amount: l.amount }));
  const receipt = (billingData as { receipt_data?: BillingReceipt } | null)?.receipt_data;
  if (lineItems.length === 0 && receipt && Array.isArray(receipt.billed_users)) {
    try {
      lineItems = lineItemsFromReceipt(receipt) as unknown as Record<string, unknown>[];
      if (lineItems.length > 0) rebuilt.push(String(row.invoice_number));
    } catch {
      /* the rules below refuse the bill if its lines do not add up */
    }
  }
  const body: Record<string, unknown> = {};
  for (const f of CANONICAL_SNAPSHOT_FIELDS) if (row[f] !== null && row[f] !== undefined) body[f] = row[f];
  body.invoice_date = dateOf(row.invoice_date);
  if (row.due_date !== null && row.due_date !== undefined) body.due_date = dateOf(row.due_date);
  body.billing_data_json = billingData;
  body.line_items = lineItems;
  return { body };
}

const reasonOf = (fields: { field: string; reason: string }[]) => fields.map((f) => `${f.field} ${f.reason}`).join('; ');

export interface PrepareLegacyTask {
  rows: { row: LegacyRow; lines: LegacyLine[] }[];
  tolerance: string;
  timeZone: string;
}

export type PreparedLegacy = { id: number; ok: true; prepared: PreparedSnapshot; rawBody: string; archivedAt: string | null; rebuiltLines: boolean } | { id: number; ok: false; reason: string };

export function prepareLegacyBatch(task: PrepareLegacyTask): PreparedLegacy[] {
  return task.rows.map(({ row, lines }) => {
    const id = Number(row.id);
    const rebuilt: string[] = [];
    const bill = billOf(row, lines, rebuilt);
    if ('reason' in bill) return { id, ok: false, reason: bill.reason };
    const checked = checkSnapshotPost(bill.body);
    if (!checked.ok) return { id, ok: false, reason: `does not pass the rules of a post: ${reasonOf(checked.fields)}` };
    try {
      const prepared = prepareSnapshot(checked.post as SnapshotPost, task.tolerance);
      return { id, ok: true, prepared, rawBody: JSON.stringify(bill.body), archivedAt: legacyInstant(row.archived_at, task.timeZone)?.toISOString() ?? null, rebuiltLines: rebuilt.length > 0 };
    } catch (err) {
      return { id, ok: false, reason: (err as Error).message };
    }
  });
}
