/**
 * The scale benchmark's worker threads (piscina): bills made as Ledger would post them and
 * prepared exactly as the API prepares them (normalised, checked, canonical text, content
 * hash), written as COPY text rows for billing_snapshots and snapshot_line_items.
 */
import { CANONICAL_SNAPSHOT_FIELDS } from '../../shared/canonical';
import { prepareSnapshot } from '../../server/snapshots/archive';
import { checkSnapshotPost } from '../../server/snapshots/validate';
import { benchBill } from '../bills';

export interface ScaleTask {
  /** Bill indexes from..to (exclusive); bill i is company i % companies in period floor(i / companies). */
  from: number;
  to: number;
  companies: number;
  /** The first period, as year * 12 + month - 1. */
  firstPeriod: number;
}

/** A bill's own fields (said once, in shared/canonical.ts), then what archiving stores beside them. */
export const SNAPSHOT_COLUMNS = ['id', ...CANONICAL_SNAPSHOT_FIELDS, 'billing_data_json', 'raw_body', 'line_item_count', 'content_hash', 'warnings', 'source', 'archived_at'] as const;
export const LINE_COLUMNS = ['snapshot_id', 'position', 'line_type', 'item_name', 'description', 'quantity', 'rate', 'amount'] as const;

/** A value in COPY's text format. */
const cell = (v: unknown): string => {
  if (v === null || v === undefined) return '\\N';
  return String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
};

export default function makeRows(task: ScaleTask): { bills: string; lines: string } {
  const bills: string[] = [];
  const lines: string[] = [];
  for (let i = task.from; i < task.to; i++) {
    const k = task.firstPeriod + Math.floor(i / task.companies);
    const post = benchBill(i % task.companies, Math.floor(k / 12), (k % 12) + 1);
    const raw = JSON.stringify(post);
    const checked = checkSnapshotPost(post);
    if (!checked.ok) throw new Error(`bench bill ${i} does not pass: ${JSON.stringify(checked.fields)}`);
    const p = prepareSnapshot(checked.post, '0.05');
    const id = i + 1;
    const row: Record<string, unknown> = {
      ...p.row,
      id,
      billing_data_json: p.billingDataJson,
      raw_body: raw,
      line_item_count: p.lineItems.length,
      content_hash: p.contentHash,
      warnings: JSON.stringify(p.warnings),
      source: 'ledger_post',
      archived_at: new Date(Date.UTC(Math.floor(k / 12), k % 12, 2, 3, 0, 0) + (i % 3600) * 1000).toISOString(),
    };
    bills.push(SNAPSHOT_COLUMNS.map((c) => cell(row[c])).join('\t'));
    p.lineItems.forEach((li, j) => lines.push([id, j + 1, li.line_type, li.item_name, li.description, li.quantity, li.rate, li.amount].map(cell).join('\t')));
  }
  return { bills: bills.join('\n') + '\n', lines: lines.join('\n') + '\n' };
}
