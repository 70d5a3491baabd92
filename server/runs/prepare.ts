/**
 * A run's work on one company's bill between fetching and writing: Ledger's billing answer
 * (text) -> read and shape-checked -> the body Ledger would post -> the same validation, money rule, totals check and content
 * hash as a post -> the lines digest the comparison with an archived bill uses. Pure and
 * CPU-bound, so it runs in worker threads (prepare-pool.ts), leaving the server's event loop
 * to the network and the database.
 */
import { createHash } from 'node:crypto';
import { ArchiveError } from '../errors';
import { buildSnapshotFromBilling, readBillingAnswer, type CompanyFacts } from '../peers/ledger-bill';
import { prepareSnapshot, type PreparedSnapshot } from '../snapshots/archive';
import { checkSnapshotPost } from '../snapshots/validate';

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

/**
 * The digest of a bill's lines, in JavaScript (Ledger's bill now) and in SQL (the archived
 * one): the two must agree, so they stand together.
 */
const LINE_SEP = '\u001f';
export const lineKey = (l: Record<string, unknown>) => [l.line_type, l.item_name, l.quantity, l.rate, l.amount].join(LINE_SEP);

export function linesDigest(lines: PreparedSnapshot['lineItems']): string {
  return createHash('md5')
    .update(lines.map((l) => lineKey(l as unknown as Record<string, unknown>)).join('\n'), 'utf8')
    .digest('hex');
}

export const LINES_DIGEST_SQL = `md5(coalesce(string_agg(concat_ws(E'${LINE_SEP}', line_type, item_name, quantity::text, rate::text, amount::text), E'\\n' ORDER BY position), ''))`;

/** A line key as a person reads it: `user Zoë: 1.00 x 125.00 = 125.00`. */
export function describeLine(k: string): string {
  const [type, name, qty, rate, amount] = k.split(LINE_SEP);
  return `${type} ${name}: ${qty} x ${rate} = ${amount}`;
}
