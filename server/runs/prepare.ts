/**
 * A run's work on one company's bill between fetching and writing: Ledger's billing answer
 * (text) -> read and shape-checked -> the body Ledger would post -> the same validation, money rule, totals check and content
 * hash as a post -> the lines digest the comparison with an archived bill uses. Pure and
 * CPU-bound, so it runs in worker threads (prepare-pool.ts), leaving the server's event loop
 * to the network and the database.
 */
import { ArchiveError } from '../errors';
import { buildSnapshotFromBilling, readBillingAnswer, type CompanyFacts } from '../peers/ledger-bill';
import { prepareSnapshot, type PreparedSnapshot } from '../snapshots/archive';
import { checkSnapshotPost } from '../snapshots/validate';
import { linesDigest } from '../snapshots/lines-digest';

export interface PrepareTask {
  /** Ledger's billing answer as received, for this company and month. */
  text: string;
  account: string;
  year: number;
  month: number;
  /** The request, for messages ("Ledger GET api/billing/…"). */
  what: string;
  company: CompanyFacts;
  createdBy: string;
  notes: string;
  tolerance: string;
}

export type PrepareOutcome = { kind: 'prepared'; prepared: PreparedSnapshot; linesDigest: string } | { kind: 'refused'; error: string; details: Record<string, unknown> | null };

export function prepareRunBill(task: PrepareTask): PrepareOutcome {
  const answer = readBillingAnswer(task.text, task.account, task.year, task.month);
  if (typeof answer === 'string') return { kind: 'refused', error: `${task.what}: ${answer}`, details: null };
  const body = buildSnapshotFromBilling(answer, task.company, { created_by: task.createdBy, notes: task.notes });
  const checked = checkSnapshotPost(body);
  if (!checked.ok) {
    return { kind: 'refused', error: `Ledger's bill does not pass validation: ${checked.fields.map((f) => `${f.field} ${f.reason}`).join('; ')}`, details: { fields: checked.fields } };
  }
  let prepared: PreparedSnapshot;
  try {
    prepared = prepareSnapshot(checked.post, task.tolerance);
  } catch (err) {
    if (err instanceof ArchiveError) return { kind: 'refused', error: err.message, details: err.details ?? null };
    throw err;
  }
  return { kind: 'prepared', prepared, linesDigest: linesDigest(prepared.lineItems) };
}
