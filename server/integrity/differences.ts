/**
 * Which field or line of a stored bill changed: the stored row against the bill its evidence
 * gives again (the raw body Ledger posted, Ledger's billing answer a run or a correction fetched,
 * or the request that filed a correction), read
 * with the same rules as at ingest. Used by `archive verify` to name what was tampered with.
 */
import { CANONICAL_LINE_FIELDS, CANONICAL_SNAPSHOT_FIELDS } from '../../shared/canonical';
import type { BillFields, BillLine } from '../../shared/api';
import { buildSnapshotFromBilling, readBillingAnswer } from '../peers/ledger-bill';
import { normaliseSnapshot } from '../snapshots/normalise';
import { checkSnapshotPost } from '../snapshots/validate';

export interface StoredBill {
  source: string;
  raw_body: string | null;
  row: BillFields;
  lines: BillLine[];
}

/** The bill its raw evidence gives, or undefined when there is none or it no longer reads. */
export function billFromEvidence(s: StoredBill): { row: BillFields; lines: BillLine[] } | undefined {
  if (!s.raw_body) return undefined;
  let body: unknown;
  try {
    if (s.source === 'run' || s.source === 'correction_ledger') {
      const answer = readBillingAnswer(s.raw_body, s.row.company_account_number, s.row.billing_year, s.row.billing_month);
      if (typeof answer === 'string') return undefined;
      // What Codex said of the company is not in Ledger's answer: taken as stored.
      body = buildSnapshotFromBilling(
        answer,
        { billing_plan: s.row.billing_plan, contract_term_length: s.row.contract_term, support_level: s.row.support_level },
        { created_by: s.row.created_by ?? undefined, notes: s.row.notes ?? undefined },
      );
    } else if (s.source === 'correction') body = (JSON.parse(s.raw_body) as { bill?: unknown }).bill;
    else body = JSON.parse(s.raw_body);
    const checked = checkSnapshotPost(body);
    if (!checked.ok) return undefined;
    const n = normaliseSnapshot(checked.post);
    return { row: n.row, lines: n.lineItems };
  } catch {
    return undefined;
  }
}

const shown = (v: unknown) => (v === null || v === undefined ? 'empty' : JSON.stringify(String(v).length > 60 ? `${String(v).slice(0, 57)}...` : String(v)));

/** The differences in words: `total_amount is "1.00", the evidence says "1250.00"`, `line 3 (user Zoë) is missing`. */
export function describeDifferences(stored: { row: BillFields; lines: BillLine[] }, evidence: { row: BillFields; lines: BillLine[] }): string[] {
  const out: string[] = [];
  for (const f of CANONICAL_SNAPSHOT_FIELDS) {
    if (String(stored.row[f] ?? '') !== String(evidence.row[f] ?? '')) out.push(`${f} is ${shown(stored.row[f])}, the evidence says ${shown(evidence.row[f])}`);
  }
  const n = Math.max(stored.lines.length, evidence.lines.length);
  for (let i = 0; i < n; i++) {
    const a = stored.lines[i];
    const b = evidence.lines[i];
    if (!a) out.push(`line ${i + 1} (${b.line_type} ${b.item_name}) is missing`);
    else if (!b) out.push(`line ${i + 1} (${a.line_type} ${a.item_name}) was added`);
    else {
      const changed = CANONICAL_LINE_FIELDS.filter((f) => String(a[f] ?? '') !== String(b[f] ?? ''));
      if (changed.length) out.push(`line ${i + 1} (${b.line_type} ${b.item_name}): ${changed.map((f) => `${f} is ${shown(a[f])}, the evidence says ${shown(b[f])}`).join('; ')}`);
    }
  }
  return out;
}
