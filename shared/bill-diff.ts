/**
 * How two revisions of a bill differ, as a correction's preview shows it before it is filed:
 * the fields that changed (as stored: money as exact decimal text), and the lines added,
 * removed or changed. Lines are matched as a person would: an identical line is the same line
 * wherever it moved; then a line of the same type and name is that line changed; what is
 * left was added or removed. Browser-safe.
 */
import type { BillDifferences, BillFields, BillLine, LineChange } from './api';
import { CANONICAL_LINE_FIELDS, CANONICAL_SNAPSHOT_FIELDS, canonicalJson } from './canonical';

export interface ComparedBill {
  row: BillFields;
  lines: BillLine[];
  billing_data: unknown;
}

/** Fields a correction's preview lists one by one; the CSV and billing data are said to change or not. */
const LISTED_FIELDS = CANONICAL_SNAPSHOT_FIELDS.filter((f) => f !== 'invoice_csv');

const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const lineKey = (l: BillLine) => CANONICAL_LINE_FIELDS.map((f) => text(l[f]) ?? '\u0000').join('\u001f');
const nameKey = (l: BillLine) => `${l.line_type}\u001f${l.item_name}`;

export function billDifferences(archived: ComparedBill, proposed: ComparedBill): BillDifferences {
  const fields = LISTED_FIELDS.flatMap((field) => {
    const [a, b] = [text(archived.row[field]), text(proposed.row[field])];
    return a === b ? [] : [{ field, archived: a, proposed: b }];
  });
  return {
    fields,
    lines: lineChanges(archived.lines, proposed.lines),
    csv_changed: archived.row.invoice_csv !== proposed.row.invoice_csv,
    billing_data_changed: canonicalJson(archived.billing_data) !== canonicalJson(proposed.billing_data),
  };
}

/** Whether the differences change anything that is billed (who filed it and its notes aside). */
export function changesTheBill(d: BillDifferences): boolean {
  return d.lines.length > 0 || d.csv_changed || d.billing_data_changed || d.fields.some((f) => f.field !== 'created_by' && f.field !== 'notes');
}

function lineChanges(archived: BillLine[], proposed: BillLine[]): LineChange[] {
  // Identical lines first, each archived line matching at most one proposed line.
  const unmatched = new Map<string, number[]>();
  archived.forEach((l, i) => (unmatched.get(lineKey(l)) ?? unmatched.set(lineKey(l), []).get(lineKey(l))!).push(i));
  const leftA = new Set(archived.keys());
  const leftP: number[] = [];
  proposed.forEach((l, j) => {
    const i = unmatched.get(lineKey(l))?.shift();
    if (i === undefined) leftP.push(j);
    else leftA.delete(i);
  });
  // Then a line of the same type and name, in order: that line, changed.
  const byName = new Map<string, number[]>();
  for (const i of leftA) (byName.get(nameKey(archived[i])) ?? byName.set(nameKey(archived[i]), []).get(nameKey(archived[i]))!).push(i);
  const out: LineChange[] = [];
  for (const j of leftP) {
    const p = proposed[j];
    const i = byName.get(nameKey(p))?.shift();
    if (i === undefined) {
      out.push({ change: 'added', position: j + 1, proposed: p });
      continue;
    }
    leftA.delete(i);
    const a = archived[i];
    out.push({ change: 'changed', position: j + 1, archived: a, proposed: p, fields: CANONICAL_LINE_FIELDS.filter((f) => text(a[f]) !== text(p[f])) });
  }
  for (const i of leftA) out.push({ change: 'removed', position: i + 1, archived: archived[i] });
  return out;
}
