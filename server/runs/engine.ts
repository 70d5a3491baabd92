/**
 * The run engine: one period, all companies or a list, real or dry. Every trigger (the API,
 * the schedule, the CLI and the systemd timer) goes through here, so they share every rule.
 * This is the loop; each database step has its own module:
 *
 * period-rule (only ended months) -> job-store.claimJob (a unique index allows one active
 * real run per period) -> lock (an advisory lock while it runs) -> plan (Codex's companies,
 * one item each) -> with bounded concurrency, company.ts: fetch the bill (Ledger, retries),
 * build and check it in a worker thread, compare with an archived bill (compare.ts) or hand
 * it to the recorder, which writes the snapshot and its outcome in one statement ->
 * job-store.finishJob -> schedule's last-run fields -> progress events all along.
 *
 * A company's snapshot and its outcome are written by one statement, so a crash leaves no
 * half snapshot and no archived company without its outcome; items without an outcome are
 * exactly what a resumed run takes up.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { AccountCheck } from '../../shared/api';
import { periodText } from '../../shared/period';
import type { JobCounts, JobStatus, RunEvent } from '../../shared/runs';
import type { Config } from '../config';
import type { Database, DatabaseKind } from '../db/database';
import { ArchiveError } from '../errors';
import type { Logger } from '../log';
import { CodexClient, LedgerClient, peerSettings, type PeerSettings } from '../peers/clients';
import { refetchBill, type RefetchedBill } from './refetch';
import { checkAccounts } from './accounts';
import { PeerError } from '../peers/request';
import { recordScheduledRun } from '../schedule/schedule';
import { archivedBills, compareWithArchived } from './compare';
import { countOutcomes } from './job-items';
import { activeJobIds, claimJob, finishJob, getJobRow, INTERRUPTED_MESSAGE, markInterrupted, reopenJob, requestCancel, saveProgress } from './job-store';
import { countColumns, EMPTY_COUNTS, OUTCOME_COUNT, toJob, type JobRow } from './jobs';
import { holdRunLock, runLockIsFree } from './lock';
import { checkRunPeriod } from './period-rule';
import { planCompanies } from './plan';
import { linesDigest } from '../snapshots/lines-digest';
import { processCompany, type CompanyContext, type PhaseTimings } from './company';
import { createPreparer, type Preparer } from './prepare-pool';
import { Recorder } from './recorder';

export interface RunRequestInput {
  year: number;
  month: number;
  /** Absent: all companies Codex lists. */
  accounts?: string[];
  dryRun: boolean;
  triggeredBy: string;
  concurrency?: number;
  /** The due time of a scheduled run (server schedule or systemd timer). */
  scheduledFor?: Date;
  /** A real run of a month that has not ended yet: why it is wanted (recorded on the job). Without it, refused. */
  allowOpenPeriod?: string;
}

export interface EngineDeps {
  knex: Knex;
  dbKind: DatabaseKind;
  log: Logger;
  tolerance: string;
  peers: PeerSettings;
  defaultConcurrency: number;
  /** Worker threads that prepare bills (RUN_WORKERS); 0 prepares them on the event loop. */
  prepareThreads: number;
  /** How often live counters and the heartbeat reach the job row. */
  flushMs?: number;
  /** The server's zone: a month ends in the schedule's zone, or in this one when the schedule names none. */
  timeZone: string;
  now?: () => Date;
}

interface ActiveRun {
  /** Shutdown: the run ends `interrupted`. */
  abort: AbortController;
  /** Cancel: the run ends `cancelled`. */
  cancel: AbortController;
  done: Promise<JobRow>;
}

export class RunEngine {
  readonly events = new EventEmitter();
  private readonly active = new Map<string, ActiveRun>();
  readonly owner = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly codex: CodexClient;
  private readonly ledger: LedgerClient;
  private readonly preparer: Preparer;
  private readonly company: CompanyContext;

  constructor(private readonly deps: EngineDeps) {
    this.codex = new CodexClient(deps.peers);
    this.ledger = new LedgerClient(deps.peers);
    this.preparer = createPreparer(deps.prepareThreads);
    this.company = { knex: deps.knex, log: deps.log, ledger: this.ledger, preparer: this.preparer, tolerance: deps.tolerance };
    this.events.setMaxListeners(0);
  }

  isActive(id: string): boolean {
    return this.active.has(id);
  }

  /** Claims the period and starts the run in the background; 409 when a real run for it is going. */
  async start(req: RunRequestInput): Promise<JobRow> {
    if (!req.dryRun) await checkRunPeriod(this.deps.knex, this.deps.timeZone, this.deps.now?.() ?? new Date(), req);
    const row = await claimJob(this.deps.knex, {
      year: req.year,
      month: req.month,
      accounts: req.accounts,
      dryRun: req.dryRun,
      triggeredBy: req.triggeredBy,
      concurrency: req.concurrency ?? this.deps.defaultConcurrency,
      owner: this.owner,
      scheduledFor: req.scheduledFor,
      openPeriodReason: req.allowOpenPeriod,
    });
    this.launch(row);
    return row;
  }

  /** Starts a run and waits for its end (the CLI and tests). */
  async run(req: RunRequestInput): Promise<JobRow> {
    const row = await this.start(req);
    return this.active.get(row.id)!.done;
  }

  async wait(id: string): Promise<JobRow> {
    const a = this.active.get(id);
    return a ? a.done : getJobRow(this.deps.knex, id);
  }

  /** Which of these accounts Codex knows (before a list is saved). */
  checkAccounts(accounts: string[]): Promise<AccountCheck> {
    return checkAccounts(this.codex, accounts);
  }

  /** A company's bill fetched again from Ledger and built as a run builds it (for a correction). */
  refetch(account: string, year: number, month: number, by: { createdBy: string; notes: string }): Promise<RefetchedBill> {
    return refetchBill({ codex: this.codex, ledger: this.ledger }, account, year, month, { ...by, tolerance: this.deps.tolerance });
  }

  /** Asks a running job to stop: companies in flight finish or are abandoned, the rest stay to do. */

  async cancel(id: string): Promise<JobRow> {
    const row = await getJobRow(this.deps.knex, id);
    if (row.status !== 'running' && row.status !== 'pending') {
      throw new ArchiveError('invalid_state', `The job is ${row.status}; only a running job can be cancelled`, { job_id: id, status: row.status });
    }
    const updated = await requestCancel(this.deps.knex, id);
    this.active.get(id)?.cancel.abort(new Error('cancelled'));
    return updated ?? (await getJobRow(this.deps.knex, id));
  }

  /** Takes up an interrupted, cancelled, partial or failed run: only companies not yet done (or failed) are fetched. */
  async resume(id: string, triggeredBy?: string): Promise<JobRow> {
    let row = await getJobRow(this.deps.knex, id);
    if ((row.status === 'running' || row.status === 'pending') && !this.active.has(id)) {
      // Maybe its process died since our start-up: find out now.
      await this.recoverInterrupted();
      row = await getJobRow(this.deps.knex, id);
    }
    const updated = await reopenJob(this.deps.knex, row, this.owner, triggeredBy);
    if (!updated) {
      throw new ArchiveError('invalid_state', `The job is ${row.status}; only an interrupted, cancelled, partial or failed run can be resumed`, { job_id: id, status: row.status });
    }
    this.launch(updated);
    return updated;
  }

  /**
   * At start-up: jobs left running by a process that is gone become `interrupted`. With
   * PostgreSQL a live run holds an advisory lock, so another server's run is left alone.
   */
  async recoverInterrupted(): Promise<string[]> {
    const orphaned: string[] = [];
    for (const id of await activeJobIds(this.deps.knex)) {
      if (this.active.has(id)) continue;
      if (this.deps.dbKind === 'postgres' && !(await runLockIsFree(this.deps.knex, id))) continue;
      orphaned.push(id);
    }
    if (orphaned.length) {
      await markInterrupted(this.deps.knex, orphaned);
      this.deps.log.warn({ jobs: orphaned }, 'runs interrupted by a stop were marked interrupted; they can be resumed');
    }
    return orphaned;
  }

  /** Graceful shutdown: stop every run here; they end `interrupted` and can be resumed. */
  async shutdown(): Promise<void> {
    const runs = [...this.active.values()];
    for (const r of runs) r.abort.abort(new Error('shutdown'));
    await Promise.allSettled(runs.map((r) => r.done));
    await this.preparer.close();
  }

  private launch(row: JobRow): void {
    const abort = new AbortController();
    const cancel = new AbortController();
    const done = this.execute(row, abort.signal, cancel).finally(() => this.active.delete(row.id));
    this.active.set(row.id, { abort, cancel, done });
    done.catch(() => undefined);
  }

  private emit(id: string, event: RunEvent): void {
    this.events.emit(`job:${id}`, event);
  }

  private async execute(job: JobRow, signal: AbortSignal, abortLocal: AbortController): Promise<JobRow> {
    const { knex, log } = this.deps;
    const jlog = log.child({ job_id: job.id, period: periodText(job.target_year, job.target_month), dry_run: job.dry_run });
    const release = await holdRunLock(knex, this.deps.dbKind, job.id);
    const counts: JobCounts = { ...EMPTY_COUNTS };
    const timings: PhaseTimings = { fetch_ms: 0, build_ms: 0, record_ms: 0 };
    const runStarted = performance.now();
    let cancelRequested = false;
    let flushing: Promise<void> = Promise.resolve();
    const flush = () =>
      (flushing = flushing
        .then(async () => {
          if ((await saveProgress(knex, job.id, counts)) && !cancelRequested) {
            cancelRequested = true;
            abortLocal.abort(new Error('cancelled'));
          }
        })
        .catch((err) => jlog.warn({ err }, 'could not record progress')));
    const runSignal = AbortSignal.any([signal, abortLocal.signal]);
    const ticker = setInterval(flush, this.deps.flushMs ?? 1000);
    ticker.unref();
    jlog.info({ triggered_by: job.triggered_by }, 'run started');
    this.emit(job.id, { type: 'job', job: toJob({ ...job, ...countColumns(counts) }) });

    let final: { status: JobStatus; error: string | null };
    try {
      const companies = await planCompanies(knex, this.codex, job, runSignal);
      Object.assign(counts, await countOutcomes(knex, job.id));
      const total = counts.total;
      jlog.info({ companies: total, to_do: companies.length }, 'companies planned');
      await flush();
      const archived = await archivedBills(
        knex,
        job,
        companies.map((c) => c.account_number),
      );
      const recorder = new Recorder(
        knex,
        job.id,
        // The token's name (`api:<name>`, `api:<name> (resumed by …)`), or what else started it (`schedule`, `cli`).
        String(job.triggered_by ?? 'run')
          .split(' ')[0]
          .replace(/^api:/, ''),
        (item) => {
          counts.done++;
          counts[OUTCOME_COUNT[item.outcome!]]++;
          this.emit(job.id, { type: 'item', job_id: job.id, item, counts: { ...counts } });
        },
        async (values, prepared) => {
          // Archived meanwhile (Ledger posted it, or another run): compare with what is there now.
          const now = (await archivedBills(knex, job, [values.account_number])).get(values.account_number);
          return now
            ? { ...values, ...(await compareWithArchived(knex, prepared, linesDigest(prepared.lineItems), now)) }
            : { ...values, outcome: 'failed', error: 'The bill was archived and removed meanwhile' };
        },
      );
      // `concurrency` Ledger calls at a time; a fetched bill is prepared and written while its
      // slot already fetches the next company (at most `concurrency` bills wait for that).
      let next = 0;
      const limit = Math.max(1, Number(job.concurrency));
      const finishing = new Set<Promise<void>>();
      const worker = async () => {
        while (next < companies.length && !runSignal.aborted && !recorder.error) {
          const item = companies[next++];
          const rest = (await processCompany(this.company, job, item, archived.get(item.account_number), runSignal, timings, recorder))?.rest;
          if (rest) {
            finishing.add(rest);
            void rest.finally(() => finishing.delete(rest));
          }
          while (finishing.size >= limit) await Promise.race(finishing);
        }
      };
      await Promise.all(Array.from({ length: Math.min(limit, Math.max(1, companies.length)) }, worker));
      await Promise.all(finishing);
      await recorder.drain();
      if (recorder.error) throw new Error(`Could not record outcomes in the database: ${(recorder.error as Error).message}; resume the run once the database is back`);
      cancelRequested ||= abortLocal.signal.aborted;
      const remaining = counts.total - counts.done;
      if (signal.aborted) final = { status: 'interrupted', error: INTERRUPTED_MESSAGE };
      else if (cancelRequested && remaining > 0) final = { status: 'cancelled', error: `Cancelled with ${remaining} of ${counts.total} companies not done; resume to finish` };
      else if (counts.failed > 0 || counts.not_found > 0) {
        const parts = [
          counts.failed > 0 ? `${counts.failed} of ${counts.total} companies failed` : '',
          counts.not_found > 0 ? `${counts.not_found} account${counts.not_found > 1 ? 's are' : ' is'} not known to Codex` : '',
        ].filter(Boolean);
        final = { status: 'partial', error: `${parts.join('; ')}; see the job's items` };
      } else final = { status: 'completed', error: null };
    } catch (err) {
      const reason = err instanceof PeerError || err instanceof ArchiveError ? err.message : `Unexpected error: ${(err as Error).message}`;
      if (!(err instanceof PeerError || err instanceof ArchiveError)) jlog.error({ err }, 'run failed');
      final = signal.aborted ? { status: 'interrupted', error: 'The server stopped during this run; resume it' } : { status: 'failed', error: reason };
    } finally {
      clearInterval(ticker);
    }
    await flushing;
    const row = await finishJob(knex, job.id, { status: final.status, error: final.error, counts, wallMs: performance.now() - runStarted, phaseMs: { ...timings } });
    await release().catch((err) => jlog.warn({ err }, 'could not release the run lock'));
    if (!job.dry_run && job.scheduled_for && (final.status === 'completed' || final.status === 'partial' || final.status === 'failed')) {
      await recordScheduledRun(knex, { jobId: job.id, startedAt: row.started_at, status: final.status, archived: counts.archived, error: final.error });
    }
    jlog.info({ status: final.status, ...counts }, 'run finished');
    this.emit(job.id, { type: 'end', job: toJob(row) });
    return row;
  }
}

/** The run engine the configuration describes, on `db`. */
export function createRunEngine(config: Config, db: Database, log: Logger, serviceToken: string, now?: () => Date): RunEngine {
  return new RunEngine({
    knex: db.knex,
    dbKind: db.kind,
    log,
    tolerance: config.totalsTolerance,
    peers: peerSettings(config, serviceToken),
    defaultConcurrency: config.runConcurrency,
    prepareThreads: config.runWorkers,
    timeZone: config.timeZone,
    now,
  });
}
