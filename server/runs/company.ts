/**
 * One company of a run: fetch its bill from Ledger; then, off the fetch path, have it built and
 * checked in a worker thread and hand the outcome to the recorder (with the snapshot, in a
 * real run), or compare it with the bill already archived. Every failure is this company's
 * alone and is recorded with its reason; a cancel or a stop leaves it to do.
 */
import type { Knex } from 'knex';
import { cleanText } from '../../shared/storable';
import type { Logger } from '../log';
import type { BillText, LedgerClient } from '../peers/clients';
import { PeerError } from '../peers/request';
import { compareWithArchived, planDetails, type ArchivedBill } from './compare';
import type { JobRow } from './jobs';
import type { PlannedCompany } from './plan';
import type { Preparer } from './prepare-pool';
import type { ItemValues, Recorder } from './recorder';

export interface CompanyContext {
  knex: Knex;
  log: Logger;
  ledger: LedgerClient;
  preparer: Preparer;
  tolerance: string;
}

/** Time spent per phase over the run's companies: Ledger call, building and checking, recording. */
export interface PhaseTimings {
  fetch_ms: number;
  build_ms: number;
  record_ms: number;
}

/**
 * One company: fetch its bill; then (`rest`, a promise that never rejects) build and check it
 * and hand the outcome to the recorder, with the snapshot in a real run. Resolves without
 * `rest` when the company is done after the fetch (no bill, or failed).
 */
export async function processCompany(
  ctx: CompanyContext,
  job: JobRow,
  c: PlannedCompany,
  archived: ArchivedBill | undefined,
  signal: AbortSignal,
  timings: PhaseTimings,
  recorder: Recorder,
): Promise<{ rest: Promise<void> } | undefined> {
  const started = performance.now();
  let mark = started;
  const phase = (name: keyof PhaseTimings) => {
    const now = performance.now();
    timings[name] += now - mark;
    mark = now;
  };
  const acct = c.account_number;
  let attempts = 0;
  const values = (fields: Partial<ItemValues> & Pick<ItemValues, 'outcome'>): ItemValues => ({
    account_number: acct,
    company_name: c.company_name,
    snapshot_id: null,
    invoice_number: null,
    total_amount: null,
    line_item_count: null,
    details: null,
    ...fields,
    error: fields.error ? cleanText(fields.error) : null,
    attempts,
    duration_ms: Math.round(performance.now() - started),
    finished_at: new Date(),
  });
  const failed = (err: unknown): void => {
    if (signal.aborted) return; // cancelled or shutting down: this company stays to do
    if (err instanceof PeerError) {
      attempts = err.attempts;
      return recorder.plain(values({ outcome: 'failed', error: err.message }));
    }
    ctx.log.error({ err, account: acct, job_id: job.id }, 'company failed unexpectedly');
    recorder.plain(values({ outcome: 'failed', error: `Unexpected error: ${(err as Error).message}` }));
  };

  let bill: BillText;
  try {
    bill = await ctx.ledger.billingText(acct, job.target_year, job.target_month, signal);
  } catch (err) {
    failed(err);
    return undefined;
  }
  phase('fetch_ms');
  attempts = bill.attempts;
  if (bill.kind === 'no_bill') {
    recorder.plain(values({ outcome: 'no_bill', details: { reason: `Ledger has no bill for this company and month: ${bill.reason}` } }));
    return undefined;
  }
  const { text, what } = bill;
  const rest = (async () => {
    try {
      const outcome = await ctx.preparer.prepare({
        text,
        account: acct,
        year: job.target_year,
        month: job.target_month,
        what,
        company: c.company ?? {},
        createdBy: `archive-run:${job.id}`,
        notes: `Archived by ${job.triggered_by ?? 'a run'}`,
        tolerance: ctx.tolerance,
      });
      if (outcome.kind === 'refused') return recorder.plain(values({ outcome: 'failed', error: outcome.error, details: outcome.details }));
      const { prepared } = outcome;
      phase('build_ms');
      if (archived) {
        recorder.plain(values(await compareWithArchived(ctx.knex, prepared, outcome.linesDigest, archived)));
      } else {
        const plan = {
          outcome: job.dry_run ? ('would_archive' as const) : ('archived' as const),
          invoice_number: prepared.row.invoice_number,
          total_amount: prepared.row.total_amount,
          line_item_count: prepared.lineItems.length,
          details: planDetails(prepared),
        };
        if (job.dry_run) recorder.plain(values(plan));
        else await recorder.archive(values(plan), prepared, text);
      }
      phase('record_ms');
    } catch (err) {
      failed(err);
    }
  })();
  return { rest };
}
