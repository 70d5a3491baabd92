/**
 * An old row of the earlier Archive read as the bill it stands for and checked by the rules of
 * a post, ready to write: the CPU-bound part of `archive import-legacy` (import-legacy.ts),
 * done in worker threads (import-worker.ts) a batch at a time while the main thread writes.
 * Each batch reads its own old rows, on a connection of its own, in the snapshot of the old
 * database the import's transaction exported: every batch sees the old database as it was
 * when the import began, and the rows (tens of kilobytes each) go from the socket to the
 * thread that checks them, not through the main thread and a copy between threads.
 */
import pg from 'pg';
import type { BillFields, SnapshotPost } from '../../shared/api';
import { CANONICAL_SNAPSHOT_FIELDS } from '../../shared/canonical';
import { zonedTime } from '../../shared/schedule';
import { lineItemsFromReceipt, type BillingReceipt } from '../peers/ledger-bill';
import { CopyBytes } from '../db/copy';
import { describeDbError } from '../db/db-error';
import { setPgTypes } from '../db/pg-types';
import { checkSnapshot, encodeBatchBill } from '../snapshots/archive';
import { checkSnapshotPost } from '../snapshots/validate';

/** What the import itself reads of an old row: enough to name it in a refusal and to decide whether to reserve an id. */
export type LegacyRowKeys = { id: number; invoice_number: string | null; company_account_number: string | null; billing_year: number | null; billing_month: number | null };
export type LegacyRow = Record<string, unknown> & LegacyRowKeys;
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
function billOf(row: LegacyRow, lines: LegacyLine[], rebuilt: string[]): { body: Record<string, unknown>; rawBody: () => string } | { reason: string } {
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
  const text = row.billing_data_json;
  return { body, rawBody: () => (typeof text === 'string' ? withText(body, 'billing_data_json', text) : JSON.stringify(body)) };
}

/**
 * `body` as JSON with `key`'s value written as `text`, the JSON text the old row held: the
 * evidence keeps the old billing data as it was, and a long text is not written again. The
 * member is found as in content-hash.ts: in a string value a quote is escaped.
 */
function withText(body: Record<string, unknown>, key: string, text: string): string {
  const json = JSON.stringify({ ...body, [key]: null });
  const member = `${JSON.stringify(key)}:null`;
  const at = json.indexOf(member) + member.length - 'null'.length;
  return json.slice(0, at) + text.trim() + json.slice(at + 'null'.length);
}

const reasonOf = (fields: { field: string; reason: string }[]) => fields.map((f) => `${f.field} ${f.reason}`).join('; ');

export interface PrepareLegacyTask {
  /** The old database, and the snapshot of it the import's transaction exported (pg_export_snapshot). */
  from: string;
  snapshot: string;
  /** Each old row's id and the id reserved for its new bill; null: checked only (a dry run, or an invoice archived already). */
  rows: { id: number; newId: string | null }[];
  tolerance: string;
  timeZone: string;
}

setPgTypes();

/** How an error reading the old rows begins, in whichever thread it happened. */
export const LEGACY_READ_FAILED = 'Cannot read the old database';
export const OLD_DATABASE_MISSING = 'check the database name in --from';

const LINE_COLUMNS = 'snapshot_id, line_type, item_name, description, quantity::text, rate::text, amount::text';

/** An old row with its line items (in the old order). */
export type LegacyRead = { row: LegacyRow; lines: LegacyLine[] };

/**
 * The old rows `ids` with their line items, as the import's snapshot of the old database holds
 * them, each handed to `each` as it arrives: a batch's rows (tens of kilobytes each) are checked
 * and let go one by one rather than held until the last has come.
 */
export async function readLegacyRows(from: string, snapshot: string, ids: number[], each: (read: LegacyRead) => void): Promise<void> {
  // An id pg_export_snapshot gave (such as 00000003-0000001B-1): SET TRANSACTION SNAPSHOT takes no parameters.
  if (!/^[0-9A-F]+(-[0-9A-F]+)+$/i.test(snapshot)) throw new Error(`internal: ${snapshot} is not a snapshot id`);
  if (ids.length === 0) return; // a batch of refused rows only
  const client = new pg.Client({ connectionString: from, application_name: 'archive import-legacy', connectionTimeoutMillis: 10_000 });
  // A connection lost mid-read is an 'error' event as well as the query's rejection: the rejection says it.
  client.on('error', () => undefined);
  // Said in words, and recognised by the import's thread as the old database's failure (LEGACY_READ_FAILED).
  const failed = (err: unknown): never => {
    throw new Error(`${LEGACY_READ_FAILED} (old rows ${ids[0]} to ${ids[ids.length - 1]}): ${describeDbError(err, { missing: OLD_DATABASE_MISSING })}`);
  };
  await client.connect().catch(failed);
  try {
    // What `each` throws is the import's own failure, not the old database's.
    let thrown: { err: unknown } | undefined;
    await readIn(client, snapshot, ids, (read) => {
      if (thrown) return;
      try {
        each(read);
      } catch (err) {
        thrown = { err };
      }
    }).catch(failed);
    if (thrown) throw thrown.err;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** readLegacyRows on its connection: a read-only transaction in the import's snapshot. */
async function readIn(client: pg.Client, snapshot: string, ids: number[], each: (read: LegacyRead) => void): Promise<void> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  await client.query(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
  // Arrays of the columns' own type (the parameter's type inferred), so PostgreSQL hashes them.
  const list = `{${ids.join(',')}}`;
  // The lines first (short rows), then the bills as they come: a row listener and no callback, so pg keeps none of them.
  const { rows: lines } = await client.query<LegacyLine>(`SELECT ${LINE_COLUMNS} FROM snapshot_line_items WHERE snapshot_id = ANY($1) ORDER BY snapshot_id, id`, [list]);
  const linesOf = new Map<number, LegacyLine[]>();
  for (const l of lines) {
    const id = Number(l.snapshot_id);
    const own = linesOf.get(id);
    if (own) own.push(l);
    else linesOf.set(id, [l]);
  }
  const bills = new pg.Query('SELECT * FROM billing_snapshots WHERE id = ANY($1)', [list]);
  bills.on('row', (row: LegacyRow) => each({ row, lines: linesOf.get(Number(row.id)) ?? [] }));
  await new Promise<void>((resolve, reject) => {
    bills.on('end', () => resolve());
    bills.on('error', reject);
    client.query(bills);
  });
  await client.query('COMMIT');
}

/** What the import decides on: the bill's keys and its content hash. */
export type LegacyBillKeys = Pick<BillFields, 'invoice_number' | 'company_account_number' | 'billing_year' | 'billing_month'> & { content_hash: string };

export type PreparedLegacy =
  | {
      id: number;
      ok: true;
      bill: LegacyBillKeys;
      rebuiltLines: boolean;
      /** Where its rows lie in the batch's bills and lines: [start, end) of each. */ bytes: [number, number, number, number] | null;
    }
  | { id: number; ok: false; reason: string };

/** A batch checked, and what passed in COPY's text format (writeEncodedBatch), ready to write. */
export interface PreparedLegacyBatch {
  results: PreparedLegacy[];
  bills: Uint8Array;
  lines: Uint8Array;
}

export async function prepareLegacyBatch(task: PrepareLegacyTask): Promise<PreparedLegacyBatch> {
  const batch = new LegacyBatch(task);
  await readLegacyRows(
    task.from,
    task.snapshot,
    task.rows.map((r) => r.id),
    (read) => batch.check(read),
  );
  return batch.done();
}

/** A batch's old rows, each checked as a post as it is read and, when it passes and has a new id, encoded for COPY. */
export class LegacyBatch {
  private readonly bills: CopyBytes;
  private readonly lines: CopyBytes;
  private readonly now = new Date();
  /** Each row's new id and its place in the batch, by old id. */
  private readonly places = new Map<number, { newId: string | null; at: number }>();
  private readonly results: (PreparedLegacy | undefined)[];

  constructor(private readonly task: Pick<PrepareLegacyTask, 'rows' | 'tolerance' | 'timeZone'>) {
    // Room for bills of the usual size (tens of kilobytes with their evidence); more if needed.
    const toEncode = task.rows.filter((r) => r.newId !== null).length;
    this.bills = new CopyBytes(toEncode * 48 * 1024);
    this.lines = new CopyBytes(toEncode * 4 * 1024);
    task.rows.forEach(({ id, newId }, at) => this.places.set(id, { newId, at }));
    this.results = new Array(task.rows.length);
  }

  check({ row, lines: oldLines }: LegacyRead): void {
    const id = Number(row.id);
    const place = this.places.get(id);
    if (!place) throw new Error(`internal: old row ${id} was not asked for`);
    this.results[place.at] = this.checked(id, row, oldLines, place.newId);
  }

  /** The results in the order of the task's rows, and the bytes of what passed. */
  done(): PreparedLegacyBatch {
    // Array.from, not map: map skips the holes, which are the rows not read.
    const results = Array.from(this.results, (r, at) => r ?? fail(`internal: old row ${this.task.rows[at].id} was not read`));
    return { results, bills: this.bills.bytes(), lines: this.lines.bytes() };
  }

  private checked(id: number, row: LegacyRow, oldLines: LegacyLine[], newId: string | null): PreparedLegacy {
    const rebuilt: string[] = [];
    const bill = billOf(row, oldLines, rebuilt);
    if ('reason' in bill) return { id, ok: false, reason: bill.reason };
    const checked = checkSnapshotPost(bill.body);
    if (!checked.ok) return { id, ok: false, reason: `does not pass the rules of a post: ${reasonOf(checked.fields)}` };
    try {
      const prepared = checkSnapshot(checked.post as SnapshotPost, this.task.tolerance);
      const r = prepared.row;
      let bytes: [number, number, number, number] | null = null;
      if (newId !== null) {
        const rows = encodeBatchBill(newId, { prepared, rawBody: bill.rawBody(), source: 'legacy_import', archivedAt: legacyInstant(row.archived_at, this.task.timeZone) ?? this.now });
        bytes = [...this.bills.write(rows.bill), ...this.lines.write(rows.lines)];
      }
      const keys = {
        invoice_number: r.invoice_number,
        company_account_number: r.company_account_number,
        billing_year: r.billing_year,
        billing_month: r.billing_month,
        content_hash: prepared.contentHash,
      };
      return { id, ok: true, bill: keys, rebuiltLines: rebuilt.length > 0, bytes };
    } catch (err) {
      return { id, ok: false, reason: (err as Error).message };
    }
  }
}

const fail = (message: string): never => {
  throw new Error(message);
};
