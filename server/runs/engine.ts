/**
 * The run engine: one period, all companies or a list, real or dry. Every trigger (the API,
 * the schedule, the CLI and the systemd timer) goes through here, so they share every rule.
 *
 * claim the period (a unique index allows one active real run per period) -> list the
 * companies (Codex) and record one item per company -> with bounded concurrency: fetch the
 * bill (Ledger, retries) -> build the snapshot -> dry: record the plan / real: archive it and
 * record the outcome in the same statement -> finish the job with its status -> update the
 * schedule's last-run fields -> progress events all along.
 *
 * A company's snapshot and its outcome are written by one statement, so a crash leaves no
 * half snapshot and no archived company without its outcome; items without an outcome are
 * exactly what a resumed run takes up.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { JobCounts, JobItem, JobStatus, RunEvent } from '../../shared/runs';
import { subtractMoney } from '../../shared/money';
import type { DatabaseKind } from '../db/database';
import { ArchiveError } from '../errors';
import { cleanText, textProblem } from '../../shared/storable';
import { periodState } from '../../shared/schedule';
import { recordScheduledRun, zoneOf } from '../schedule/schedule';
import type { Logger } from '../log';
import { CodexClient, LedgerClient, type BillText, type CodexCompany, type PeerSettings } from '../peers/clients';
import { PeerError } from '../peers/request';
import type { PreparedSnapshot } from '../snapshots/archive';
import { countColumns, getJobRow, toJob, type JobRow } from './jobs';
import { describeLine, lineKey, linesDigest, LINES_DIGEST_SQL } from './prepare';
import { createPreparer, type Preparer } from './prepare-pool';
import { Recorder, type ItemValues } from './recorder';
import { ACCOUNT_NUMBER, periodText } from '../../shared/period';

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

interface ArchivedBill {
  id: number;
  invoice_number: string;
  total_amount: string;
  content_hash: string;
  lines_digest: string;
}

/** Time spent per phase over the run's companies: Ledger call, building and checking, recording. */
interface PhaseTimings {
  fetch_ms: number;
  build_ms: number;
  record_ms: number;
}

const ADVISORY_CLASS = 0x41524348; // 'ARCH'
const EMPTY_COUNTS: JobCounts = { total: 0, done: 0, archived: 0, would_archive: 0, already_archived: 0, changed_since_archived: 0, no_bill: 0, skipped: 0, not_found: 0, failed: 0 };
const OUTCOME_COUNT: Record<NonNullable<JobItem['outcome']>, keyof JobCounts> = {
  archived: 'archived',
  would_archive: 'would_archive',
  already_archived: 'already_archived',
  changed_since_archived: 'changed_since_archived',
  no_bill: 'no_bill',
  skipped: 'skipped',
  not_found: 'not_found',
  failed: 'failed',
};

export class RunEngine {
  readonly events = new EventEmitter();
  private readonly active = new Map<string, ActiveRun>();
  readonly owner = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly codex: CodexClient;
  private readonly ledger: LedgerClient;
  private readonly preparer: Preparer;

  constructor(private readonly deps: EngineDeps) {
    this.codex = new CodexClient(deps.peers);
    this.ledger = new LedgerClient(deps.peers);
    this.preparer = createPreparer(deps.prepareThreads);
    this.events.setMaxListeners(0);
  }

  isActive(id: string): boolean {
    return this.active.has(id);
  }

  /** Claims the period and starts the run in the background; 409 when a real run for it is going. */
  async start(req: RunRequestInput): Promise<JobRow> {
    const concurrency = req.concurrency ?? this.deps.defaultConcurrency;
    if (!req.dryRun) await this.checkPeriod(req);
    let row: JobRow;
    try {
      [row] = await this.deps
        .knex('snapshot_jobs')
        .insert({
          id: randomUUID(),
          job_type: req.dryRun ? 'dry_run' : 'run',
          dry_run: req.dryRun,
          status: 'running',
          target_year: req.year,
          target_month: req.month,
          target_account_numbers: req.accounts ? JSON.stringify(req.accounts) : null,
          all_companies: !req.accounts,
          concurrency,
          triggered_by: req.triggeredBy,
          started_at: this.deps.knex.fn.now(),
          heartbeat_at: this.deps.knex.fn.now(),
          owner: this.owner,
          scheduled_for: req.scheduledFor ?? null,
          open_period_reason: req.dryRun ? null : (req.allowOpenPeriod ?? null),
        })
        .returning('*');
    } catch (err) {
      const constraint = (err as { constraint?: string }).constraint;
      if (constraint === 'snapshot_jobs_one_active_run') throw await this.inProgressError(req.year, req.month);
      if (constraint === 'snapshot_jobs_scheduled_once') {
        throw new ArchiveError('run_in_progress', `The scheduled run due at ${req.scheduledFor?.toISOString()} has already been started by another server or the timer`, {
          scheduled_for: req.scheduledFor?.toISOString(),
        });
      }
      throw err;
    }
    this.launch(row);
    return row;
  }

  /**
   * A real run archives for good, so it takes a month only once it has ended in the schedule's
   * zone: a future month never, an open one only with a reason (`allowOpenPeriod`).
   */
  private async checkPeriod(req: RunRequestInput): Promise<void> {
    const row = await this.deps.knex('scheduled_snapshots').where({ id: 1 }).first('timezone');
    const tz = row ? zoneOf(row, this.deps.timeZone) : this.deps.timeZone;
    const now = this.deps.now?.() ?? new Date();
    const p = periodState(req.year, req.month, tz, now);
    if (p.state === 'ended') return;
    const period = periodText(req.year, req.month);
    const details = { year: req.year, month: req.month, state: p.state, timezone: tz, ends_at: p.ends_at.toISOString() };
    if (p.state === 'future') {
      throw new ArchiveError(
        'period_not_ended',
        `${period} has not begun yet (in ${tz}); a real run archives only months that have ended, so it cannot run for ${period} before ${p.ends_at.toISOString()}. A dry run shows what Ledger would bill.`,
        details,
      );
    }
    if (!req.allowOpenPeriod) {
      throw new ArchiveError(
        'period_not_ended',
        `${period} has not ended yet (it ends ${p.ends_at.toISOString()}, in ${tz}): its bills are still provisional, and an archived bill is kept for good, so Ledger's final bill would be refused. Run it after the month ends, use a dry run, or say why with allow_open_period and a reason.`,
        details,
      );
    }
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

  /** Asks a running job to stop: companies in flight finish or are abandoned, the rest stay to do. */
  async cancel(id: string): Promise<JobRow> {
    const row = await getJobRow(this.deps.knex, id);
    if (row.status !== 'running' && row.status !== 'pending') {
      throw new ArchiveError('invalid_state', `The job is ${row.status}; only a running job can be cancelled`, { job_id: id, status: row.status });
    }
    const [updated] = await this.deps.knex('snapshot_jobs').where({ id }).whereIn('status', ['running', 'pending']).update({ cancel_requested_at: this.deps.knex.fn.now() }).returning('*');
    this.active.get(id)?.cancel.abort(new Error('cancelled'));
    return (updated as JobRow) ?? (await getJobRow(this.deps.knex, id));
  }

  /** Takes up an interrupted, cancelled, partial or failed run: only companies not yet done (or failed) are fetched. */
  async resume(id: string, triggeredBy?: string): Promise<JobRow> {
    let row = await getJobRow(this.deps.knex, id);
    if ((row.status === 'running' || row.status === 'pending') && !this.active.has(id)) {
      // Maybe its process died since our start-up: find out now.
      await this.recoverInterrupted();
      row = await getJobRow(this.deps.knex, id);
    }
    let updated: JobRow | undefined;
    try {
      [updated] = await this.deps
        .knex('snapshot_jobs')
        .where({ id })
        .whereIn('status', ['interrupted', 'cancelled', 'partial', 'failed'])
        .update({
          status: 'running',
          cancel_requested_at: null,
          completed_at: null,
          error: null,
          success: null,
          owner: this.owner,
          heartbeat_at: this.deps.knex.fn.now(),
          resume_count: this.deps.knex.raw('resume_count + 1'),
          triggered_by: triggeredBy ? this.deps.knex.raw(`coalesce(triggered_by, '') || ?`, [` (resumed by ${triggeredBy})`]) : this.deps.knex.ref('triggered_by'),
        })
        .returning('*');
    } catch (err) {
      if ((err as { constraint?: string }).constraint === 'snapshot_jobs_one_active_run') throw await this.inProgressError(row.target_year, row.target_month);
      throw err;
    }
    if (!updated) {
      throw new ArchiveError('invalid_state', `The job is ${row.status}; only an interrupted, cancelled, partial or failed run can be resumed`, { job_id: id, status: row.status });
    }
    // Failed companies are taken up again; their failure stays in the record (details.earlier_failures).
    await this.deps.knex.raw(
      `UPDATE snapshot_job_items
          SET details = jsonb_build_object('earlier_failures',
                coalesce(details -> 'earlier_failures', '[]'::jsonb)
                || jsonb_build_array(jsonb_build_object('error', error, 'attempts', attempts, 'finished_at', finished_at))),
              outcome = NULL, error = NULL, finished_at = NULL
        WHERE job_id = ? AND outcome = 'failed'`,
      [id],
    );
    this.launch(updated);
    return updated;
  }

  /**
   * At start-up: jobs left running by a process that is gone become `interrupted`. With
   * PostgreSQL a live run holds an advisory lock, so another server's run is left alone.
   */
  async recoverInterrupted(): Promise<string[]> {
    const rows = (await this.deps.knex('snapshot_jobs').whereIn('status', ['running', 'pending']).select('id')) as { id: string }[];
    const orphaned: string[] = [];
    for (const { id } of rows) {
      if (this.active.has(id)) continue;
      if (this.deps.dbKind === 'postgres' && !(await this.probeLock(id))) continue;
      orphaned.push(id);
    }
    if (orphaned.length) {
      await this.deps
        .knex('snapshot_jobs')
        .whereIn('id', orphaned)
        .whereIn('status', ['running', 'pending'])
        .update({ status: 'interrupted', completed_at: this.deps.knex.fn.now(), error: 'The server stopped during this run; resume it to archive the companies not yet done' });
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

  private async inProgressError(year: number, month: number): Promise<ArchiveError> {
    const existing = await this.deps
      .knex('snapshot_jobs')
      .where({ target_year: year, target_month: month, dry_run: false })
      .whereIn('status', ['running', 'pending'])
      .first('id', 'triggered_by', 'started_at');
    const period = periodText(year, month);
    return new ArchiveError(
      'run_in_progress',
      `A run for ${period} is already going${existing ? ` (job ${existing.id}, started by ${existing.triggered_by ?? 'unknown'})` : ''}; watch it or cancel it first`,
      {
        job_id: existing?.id ?? null,
        year,
        month,
      },
    );
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

  private async probeLock(id: string): Promise<boolean> {
    const r = await this.deps.knex.raw('SELECT pg_try_advisory_lock(?, hashtext(?)) AS got', [ADVISORY_CLASS, id]);
    if (!r.rows[0].got) return false;
    await this.deps.knex.raw('SELECT pg_advisory_unlock(?, hashtext(?))', [ADVISORY_CLASS, id]);
    return true;
  }

  /** Holds a session advisory lock on a dedicated connection for the life of the run (PostgreSQL). */
  private async holdLock(id: string): Promise<() => Promise<void>> {
    if (this.deps.dbKind !== 'postgres') return async () => undefined;
    const client = this.deps.knex.client as { acquireConnection(): Promise<{ query(sql: string, params: unknown[]): Promise<unknown> }>; releaseConnection(c: unknown): Promise<void> };
    const conn = await client.acquireConnection();
    await conn.query('SELECT pg_advisory_lock($1, hashtext($2))', [ADVISORY_CLASS, id]);
    return async () => {
      try {
        await conn.query('SELECT pg_advisory_unlock($1, hashtext($2))', [ADVISORY_CLASS, id]);
      } finally {
        await client.releaseConnection(conn);
      }
    };
  }

  private async execute(job: JobRow, signal: AbortSignal, abortLocal: AbortController): Promise<JobRow> {
    const { knex, log } = this.deps;
    const jlog = log.child({ job_id: job.id, period: periodText(job.target_year, job.target_month), dry_run: job.dry_run });
    const release = await this.holdLock(job.id);
    const counts: JobCounts = { ...EMPTY_COUNTS };
    const timings: PhaseTimings = { fetch_ms: 0, build_ms: 0, record_ms: 0 };
    const runStarted = performance.now();
    let cancelRequested = false;
    let flushing: Promise<void> = Promise.resolve();
    const flush = () =>
      (flushing = flushing
        .then(async () => {
          const [r] = await knex('snapshot_jobs')
            .where({ id: job.id })
            .update({ ...countColumns(counts), heartbeat_at: knex.fn.now() })
            .returning('cancel_requested_at');
          if (r?.cancel_requested_at && !cancelRequested) {
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
      const companies = await this.plan(job, runSignal);
      const total = await this.loadCounts(job.id, counts);
      jlog.info({ companies: total, to_do: companies.length }, 'companies planned');
      await flush();
      const archived = await this.archivedBills(
        job,
        companies.map((c) => c.account_number),
      );
      const recorder = new Recorder(
        knex,
        job.id,
        (item) => {
          counts.done++;
          counts[OUTCOME_COUNT[item.outcome!]]++;
          this.emit(job.id, { type: 'item', job_id: job.id, item, counts: { ...counts } });
        },
        async (values, prepared) => {
          // Archived meanwhile (Ledger posted it, or another run): compare with what is there now.
          const now = (await this.archivedBills(job, [values.account_number])).get(values.account_number);
          return now
            ? { ...values, ...(await this.comparison(prepared, linesDigest(prepared.lineItems), now)) }
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
          const rest = (await this.processCompany(job, item, archived.get(item.account_number), runSignal, timings, recorder))?.rest;
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
      if (signal.aborted) final = { status: 'interrupted', error: 'The server stopped during this run; resume it to archive the companies not yet done' };
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
    const [row] = (await knex('snapshot_jobs')
      .where({ id: job.id })
      .update({
        ...countColumns(counts),
        status: final.status,
        error: final.error,
        success: final.status === 'completed',
        completed_at: knex.fn.now(),
        heartbeat_at: knex.fn.now(),
        output: JSON.stringify({
          success_count: counts.archived + counts.would_archive + counts.already_archived,
          failed_count: counts.failed,
          counts,
          // Where the time went: the run's wall time, and the mean per company of each phase.
          timings: {
            wall_ms: Math.round(performance.now() - runStarted),
            ...Object.fromEntries(Object.entries(timings).map(([k, v]) => [`${k.replace('_ms', '')}_mean_ms`, Math.round((10 * v) / Math.max(1, counts.done)) / 10])),
          },
        }),
      })
      .returning('*')) as JobRow[];
    await release().catch((err) => jlog.warn({ err }, 'could not release the run lock'));
    if (!job.dry_run && job.scheduled_for && (final.status === 'completed' || final.status === 'partial' || final.status === 'failed')) {
      await recordScheduledRun(knex, { jobId: job.id, startedAt: row.started_at, status: final.status, archived: counts.archived, error: final.error });
    }
    jlog.info({ status: final.status, ...counts }, 'run finished');
    this.emit(job.id, { type: 'end', job: toJob(row) });
    return row;
  }

  /** The companies still to do; on the first start, asks Codex and records one item per company. */
  private async plan(job: JobRow, signal: AbortSignal): Promise<{ account_number: string; company_name: string | null; company: CodexCompany | null }[]> {
    const { knex } = this.deps;
    const existing = (await knex('snapshot_job_items').where({ job_id: job.id }).orderBy('position').select('account_number', 'company_name', 'outcome')) as {
      account_number: string;
      company_name: string | null;
      outcome: string | null;
    }[];
    if (existing.length === 0) {
      const accounts = job.target_account_numbers as string[] | null;
      let planned: { account_number: string; company_name: string | null; company: CodexCompany | null; skip?: string; outcome?: 'not_found' | 'failed' }[];
      if (!accounts) {
        let list: CodexCompany[];
        try {
          list = await this.codex.companies(signal);
        } catch (err) {
          throw new PeerError(`Cannot list the companies: ${(err as Error).message}`, (err as PeerError).kind ?? 'network', (err as PeerError).status, (err as PeerError).attempts ?? 1);
        }
        const seen = new Set<string>();
        let withoutAccount = 0;
        planned = [];
        for (const c of list) {
          const acct = codexAccount(c);
          if (!acct) {
            withoutAccount++;
            continue;
          }
          const key = itemKey(acct);
          if (seen.has(key)) continue;
          seen.add(key);
          // An odd entry (an account that is not 1-50 digits, a name that is not text) fails alone.
          const odd = oddCompany(c, acct);
          planned.push(odd ? { account_number: key, company_name: null, company: null, skip: odd, outcome: 'failed' } : { account_number: acct, company_name: c.name ?? null, company: c });
        }
        await knex('snapshot_jobs').where({ id: job.id }).update({ codex_entries_without_account: withoutAccount });
      } else {
        planned = await mapLimit(accounts, Number(job.concurrency), async (acct) => {
          try {
            const c = await this.codex.company(acct, signal);
            if (!c) return { account_number: acct, company_name: null, company: null, skip: `Codex does not know account ${acct} (check the number)`, outcome: 'not_found' as const };
            const odd = oddCompany(c, acct);
            return odd ? { account_number: acct, company_name: null, company: null, skip: odd, outcome: 'failed' as const } : { account_number: acct, company_name: c.name ?? null, company: c };
          } catch (err) {
            // An answer about this one company (a 4xx, not JSON, not a company, too large) fails it alone;
            // Codex unreachable, failing or refusing our token stops the run (every company would fail).
            const e = err as PeerError;
            const aboutThisCompany =
              e instanceof PeerError &&
              (e.kind === 'invalid_response' || e.kind === 'too_large' || (e.kind === 'http' && e.status !== undefined && e.status < 500 && e.status !== 401 && e.status !== 403));
            if (aboutThisCompany) return { account_number: acct, company_name: null, company: null, skip: cleanText(`Cannot look up company ${acct}: ${e.message}`), outcome: 'failed' as const };
            throw new PeerError(`Cannot look up company ${acct}: ${(err as Error).message}`, e.kind ?? 'network', e.status, e.attempts ?? 1);
          }
        });
      }
      const rows = planned.map((p, i) => ({
        job_id: job.id,
        account_number: p.account_number,
        company_name: p.company_name?.slice(0, 150) ?? null,
        position: i + 1,
        outcome: p.skip ? (p.outcome ?? 'skipped') : null,
        error: p.skip ?? null,
        finished_at: p.skip ? new Date() : null,
      }));
      for (let i = 0; i < rows.length; i += 1000) await knex('snapshot_job_items').insert(rows.slice(i, i + 1000));
      return planned.filter((p) => !p.skip);
    }
    // A resumed run: the companies already done are not fetched again.
    const todo = existing.filter((e) => e.outcome === null);
    const companies = job.target_account_numbers ? null : await this.codex.companies(signal).catch(() => null);
    const facts = new Map((companies ?? []).flatMap((c) => (codexAccount(c) ? [[itemKey(codexAccount(c)), c] as const] : [])));
    // A company whose Codex entry is still odd fails again at once, with its reason, instead of being fetched.
    const out: { account_number: string; company_name: string | null; company: CodexCompany | null }[] = [];
    for (const e of todo) {
      const fact = facts.get(e.account_number);
      const odd = ACCOUNT_NUMBER.test(e.account_number)
        ? fact
          ? oddCompany(fact, e.account_number)
          : undefined
        : `The account number ${JSON.stringify(e.account_number)} is not 1 to 50 digits; fix the entry in Codex`;
      if (odd) await knex('snapshot_job_items').where({ job_id: job.id, account_number: e.account_number }).whereNull('outcome').update({ outcome: 'failed', error: odd, finished_at: new Date() });
      else out.push({ account_number: e.account_number, company_name: e.company_name, company: fact ?? null });
    }
    return out;
  }

  private async loadCounts(jobId: string, counts: JobCounts): Promise<number> {
    const rows = (await this.deps.knex('snapshot_job_items').where({ job_id: jobId }).groupBy('outcome').select('outcome').count({ n: '*' })) as { outcome: string | null; n: number }[];
    Object.assign(counts, EMPTY_COUNTS);
    for (const r of rows) {
      const n = Number(r.n);
      counts.total += n;
      if (r.outcome) {
        counts.done += n;
        counts[OUTCOME_COUNT[r.outcome as keyof typeof OUTCOME_COUNT]] += n;
      }
    }
    return counts.total;
  }

  private async archivedBills(job: JobRow, accounts: string[]): Promise<Map<string, ArchivedBill>> {
    const out = new Map<string, ArchivedBill>();
    for (let i = 0; i < accounts.length; i += 5000) {
      const rows = (await this.deps
        .knex('billing_snapshots as s')
        .where({ billing_year: job.target_year, billing_month: job.target_month })
        .whereIn('company_account_number', accounts.slice(i, i + 5000))
        .select(
          's.id',
          's.company_account_number',
          's.invoice_number',
          's.total_amount',
          's.content_hash',
          this.deps.knex.raw(`(SELECT ${LINES_DIGEST_SQL} FROM snapshot_line_items l WHERE l.snapshot_id = s.id) AS lines_digest`),
        )) as (ArchivedBill & { company_account_number: string })[];
      for (const r of rows) out.set(r.company_account_number, r);
    }
    return out;
  }

  /**
   * One company: fetch its bill; then (`rest`, a promise that never rejects) build and check it
   * and hand the outcome to the recorder, with the snapshot in a real run. Resolves without
   * `rest` when the company is done after the fetch (no bill, or failed).
   */
  private async processCompany(
    job: JobRow,
    c: { account_number: string; company_name: string | null; company: CodexCompany | null },
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
      this.deps.log.error({ err, account: acct, job_id: job.id }, 'company failed unexpectedly');
      recorder.plain(values({ outcome: 'failed', error: `Unexpected error: ${(err as Error).message}` }));
    };

    let bill: BillText;
    try {
      bill = await this.ledger.billingText(acct, job.target_year, job.target_month, signal);
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
        const outcome = await this.preparer.prepare({
          text,
          account: acct,
          year: job.target_year,
          month: job.target_month,
          what,
          company: c.company ?? {},
          createdBy: `archive-run:${job.id}`,
          notes: `Archived by ${job.triggered_by ?? 'a run'}`,
          tolerance: this.deps.tolerance,
        });
        if (outcome.kind === 'refused') return recorder.plain(values({ outcome: 'failed', error: outcome.error, details: outcome.details }));
        const { prepared } = outcome;
        phase('build_ms');
        if (archived) {
          recorder.plain(values(await this.comparison(prepared, outcome.linesDigest, archived)));
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

  /** Already archived: is Ledger's bill still the same? Total and lines are compared. */
  private async comparison(prepared: PreparedSnapshot, digest: string, archived: ArchivedBill): Promise<Partial<ItemValues> & Pick<ItemValues, 'outcome'>> {
    const base = { snapshot_id: Number(archived.id), invoice_number: archived.invoice_number, total_amount: archived.total_amount };
    if (archived.total_amount === prepared.row.total_amount && archived.lines_digest === digest) {
      return { outcome: 'already_archived', ...base, line_item_count: prepared.lineItems.length, details: { content_hash: archived.content_hash } };
    }
    const lines = (await this.deps.knex('snapshot_line_items').where({ snapshot_id: archived.id }).orderBy('position').select('line_type', 'item_name', 'quantity', 'rate', 'amount')) as Record<
      string,
      string
    >[];
    const before = lines.map(lineKey);
    const after = prepared.lineItems.map((l) => lineKey(l as unknown as Record<string, string>));
    return {
      outcome: 'changed_since_archived',
      ...base,
      line_item_count: lines.length,
      details: {
        archived_total: archived.total_amount,
        ledger_total: prepared.row.total_amount,
        difference: subtractMoney(prepared.row.total_amount, archived.total_amount),
        archived_line_count: lines.length,
        ledger_line_count: prepared.lineItems.length,
        lines_added: after
          .filter((k) => !before.includes(k))
          .slice(0, 20)
          .map(describeLine),
        lines_removed: before
          .filter((k) => !after.includes(k))
          .slice(0, 20)
          .map(describeLine),
        archived_content_hash: archived.content_hash,
        ledger_content_hash: prepared.contentHash,
        note: 'The archived bill is kept unchanged; Ledger now bills this month differently.',
      },
    };
  }
}

/** The account number of a Codex entry, trimmed; '' for none (a prospect) or for an entry that is not an object. */
function codexAccount(c: unknown): string {
  if (!c || typeof c !== 'object' || Array.isArray(c)) return '';
  const a = (c as CodexCompany).account_number;
  return typeof a === 'string' ? a.trim() : a === null || a === undefined ? '' : String(a);
}

/**
 * The key a company's item is stored under: its account number, or for one that is not a
 * plain number of up to 50 characters, a readable prefix and a digest of the whole (distinct
 * for distinct entries, and text the database takes).
 */
function itemKey(acct: string): string {
  if (ACCOUNT_NUMBER.test(acct)) return acct;
  const readable = cleanText(acct).replace(/[^\x20-\x7e]/g, '?');
  if (readable === acct && acct.length <= 50) return acct;
  return `${readable.slice(0, 36)}~${createHash('sha256').update(acct, 'utf8').digest('hex').slice(0, 12)}`;
}

/** Why Codex's entry for a company cannot be run, or undefined when it can. */
function oddCompany(c: CodexCompany, acct: string): string | undefined {
  if (!ACCOUNT_NUMBER.test(acct)) return `Codex lists the account number ${JSON.stringify(cleanText(acct.slice(0, 80)))}, which is not 1 to 50 digits; fix the entry in Codex`;
  if (c.name !== undefined && c.name !== null && typeof c.name !== 'string') return `Codex gives company ${acct} a name that is not text (${typeof c.name}); fix the entry in Codex`;
  if (typeof c.name === 'string' && textProblem(c.name)) return `Codex gives company ${acct} a name that ${textProblem(c.name)}; fix the entry in Codex`;
  if (typeof c.name === 'string' && c.name.length > 150) return `Codex gives company ${acct} a name longer than 150 characters; fix the entry in Codex`;
  return undefined;
}

function planDetails(p: PreparedSnapshot): Record<string, unknown> {
  return {
    invoice_number: p.row.invoice_number,
    total_amount: p.row.total_amount,
    line_item_count: p.lineItems.length,
    user_count: p.row.user_count,
    asset_count: p.row.asset_count,
    content_hash: p.contentHash,
    warnings: p.warnings,
  };
}

async function mapLimit<T, R>(xs: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, xs.length) }, async () => {
      while (next < xs.length) {
        const i = next++;
        out[i] = await fn(xs[i]);
      }
    }),
  );
  return out;
}
