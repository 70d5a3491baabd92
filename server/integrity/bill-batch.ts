/**
 * Stored bills as `archive verify` reads them, and their content hashes recomputed: a range
 * of snapshot ids with their fields, billing data (as JSON text), lines and leaf. The same
 * reading serves the worker threads (each on its own connection, in the verify's snapshot) and
 * this thread; what leaves the reader is only what the checks compare, not the bills' text.
 */
import type { BillFields, BillLine } from '../../shared/api';
import { CANONICAL_LINE_FIELDS, CANONICAL_SNAPSHOT_FIELDS } from '../../shared/canonical';
import { contentHashOf, contentHashOfText } from '../snapshots/content-hash';

/** A query with `?` placeholders (knex.raw's, or a pg client's through `numbered`); rows as the driver gives them, as knex.raw's are. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Query = (sql: string, params?: readonly unknown[]) => Promise<{ rows: any[] }>;

/** `?` placeholders as pg's `$1, $2, ...` (the statements here hold no other `?`). */
export const numbered = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

interface StoredBillRow extends BillFields {
  id: number;
  billing_data_text: string;
  line_item_count: number;
  content_hash: string;
  leaf_idx: number | null;
  leaf_data: Uint8Array | null;
  queued: boolean;
  revision: number;
  correction_reason: string | null;
  corrected_by: string | null;
  supersedes_hash: string | null;
}

/** A bill as the checks see it: its hash recomputed from what is stored, and what it is compared with. */
export interface CheckedBill {
  id: number;
  invoice_number: string;
  revision: number;
  /** The content hash recomputed from the stored fields, billing data and lines. */
  hash: string;
  /** Its line items as stored, and the count it was archived with. */
  lines: number;
  line_item_count: number;
  /** Its content_hash column. */
  content_hash: string;
  leaf_idx: number | null;
  /** Its leaf's data as text (undefined bytes replaced), or null when it has no leaf. */
  leaf_text: string | null;
  /** Without a leaf, whether it waits in the queue for one. */
  queued: boolean;
  correction_reason: string | null;
  corrected_by: string | null;
  /** The stored content hash of the revision a correction supersedes. */
  supersedes_hash: string | null;
}

const FIELDS = CANONICAL_SNAPSHOT_FIELDS.map((f) => `s.${f}`).join(', ');
const LINE_COLUMNS = CANONICAL_LINE_FIELDS.map((f) => (f === 'quantity' || f === 'rate' || f === 'amount' ? `${f}::text AS ${f}` : f)).join(', ');

export const fieldsOf = (row: BillFields) => Object.fromEntries(CANONICAL_SNAPSHOT_FIELDS.map((f) => [f, row[f]])) as unknown as BillFields;

/** Lines by snapshot id, in their order, from rows of `snapshot_id` and the line's columns. */
function byBill(rows: unknown[]): Map<number, BillLine[]> {
  const linesOf = new Map<number, BillLine[]>();
  for (const l of rows as (BillLine & { snapshot_id: number | string })[]) {
    const id = Number(l.snapshot_id);
    const { snapshot_id: _id, ...line } = l;
    (linesOf.get(id) ?? linesOf.set(id, []).get(id)!).push(line);
  }
  return linesOf;
}

const LINES = `SELECT snapshot_id, ${LINE_COLUMNS} FROM snapshot_line_items`;

/** The lines of the snapshots with ids `from` to `to`. */
export async function linesOfRange(query: Query, from: number, to: number): Promise<Map<number, BillLine[]>> {
  return byBill((await query(`${LINES} WHERE snapshot_id BETWEEN ? AND ? ORDER BY snapshot_id, position`, [from, to])).rows);
}

/** Bills as stored, with their source and raw body (to name what changed), by id. */
export async function readBillsById(query: Query, ids: number[]): Promise<Map<number, { source: string; raw_body: string | null; row: BillFields; lines: BillLine[] }>> {
  const list = `{${ids.join(',')}}`;
  const { rows } = await query(`SELECT s.id, s.source, s.raw_body, ${FIELDS} FROM billing_snapshots s WHERE s.id = ANY(?::bigint[])`, [list]);
  const linesOf = byBill((await query(`${LINES} WHERE snapshot_id = ANY(?::bigint[]) ORDER BY snapshot_id, position`, [list])).rows);
  const out = new Map<number, { source: string; raw_body: string | null; row: BillFields; lines: BillLine[] }>();
  for (const r of rows as (BillFields & { id: number | string; source: string; raw_body: string | null })[]) {
    out.set(Number(r.id), { source: r.source, raw_body: r.raw_body, row: fieldsOf(r), lines: linesOf.get(Number(r.id)) ?? [] });
  }
  return out;
}

/** The bills with ids `from` to `to` (in id order) as stored, with their lines. */
export interface StoredBills {
  rows: StoredBillRow[];
  linesOf: Map<number, BillLine[]>;
}

export async function readBillRange(query: Query, from: number, to: number): Promise<StoredBills> {
  // One after the other: a connection runs one statement at a time.
  const { rows } = await query(
    `SELECT s.id, ${FIELDS}, s.billing_data_json::text AS billing_data_text, s.line_item_count, s.content_hash,
              s.revision, s.correction_reason, s.corrected_by, p.content_hash AS supersedes_hash,
              l.idx AS leaf_idx, l.data AS leaf_data,
              (l.idx IS NULL AND EXISTS (SELECT 1 FROM log_queue q WHERE q.kind IN ('snapshot', 'correction') AND q.ref_id = s.id)) AS queued
         FROM billing_snapshots s LEFT JOIN log_leaves l ON l.kind IN ('snapshot', 'correction') AND l.ref_id = s.id
         LEFT JOIN billing_snapshots p ON p.id = s.supersedes_id
        WHERE s.id BETWEEN ? AND ? ORDER BY s.id`,
    [from, to],
  );
  return { rows: rows as StoredBillRow[], linesOf: await linesOfRange(query, from, to) };
}

/**
 * A stored bill's content hash from its fields, its lines and its billing data's text. The
 * text is hashed as it is stored when that gives the hash the bill was archived with (its
 * text is the canonical one: the same hash from another text would take a SHA-256 collision);
 * otherwise the hash is what the value of that text gives, parsed and written canonically
 * (bills stored before their text was, or a changed one).
 */
function recomputedHash(r: StoredBillRow, lines: BillLine[]): string {
  const fields = fieldsOf(r);
  const asStored = contentHashOfText(fields, r.billing_data_text, lines);
  return asStored === r.content_hash ? asStored : contentHashOf(fields, JSON.parse(r.billing_data_text), lines);
}

/** Stored bills' content hashes recomputed (the CPU-bound part), with what the checks compare them with. */
export function checkStoredBills({ rows, linesOf }: StoredBills): CheckedBill[] {
  return rows.map((r) => {
    const id = Number(r.id);
    const lines = linesOf.get(id) ?? [];
    return {
      id,
      invoice_number: r.invoice_number,
      revision: r.revision,
      hash: recomputedHash(r, lines),
      lines: lines.length,
      line_item_count: r.line_item_count,
      content_hash: r.content_hash,
      leaf_idx: r.leaf_idx === null ? null : Number(r.leaf_idx),
      leaf_text: r.leaf_data === null ? null : Buffer.from(r.leaf_data).toString('utf8'),
      queued: r.queued,
      correction_reason: r.correction_reason,
      corrected_by: r.corrected_by,
      supersedes_hash: r.supersedes_hash,
    };
  });
}
