/**
 * The one owner of job rows (`snapshot_jobs`, through the Job model where a plain query
 * does): one state change a function, claim a period (the unique indexes decide), reopen for
 * a resume, ask to cancel, mark interrupted, save the live counters (and see a cancel asked
 * elsewhere), finish with the status and the timings; and reading jobs. How a job looks in
 * the API is jobs.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { periodText } from '../../shared/period';
import { pageWindow, RESUMABLE_STATUSES, type JobCounts, type JobStatus } from '../../shared/runs';
import { ArchiveError } from '../errors';
import { Job } from '../models/Job';
import { reopenFailedItems } from './job-items';
import { countColumns, toJob, type JobRow } from './jobs';

const ACTIVE: JobStatus[] = ['running', 'pending'];
export const INTERRUPTED_MESSAGE = 'The server stopped during this run; resume it to archive the companies not yet done';

export interface NewJob {
  year: number;
  month: number;
  accounts?: string[];
  dryRun: boolean;
  triggeredBy: string;
  concurrency: number;
  owner: string;
  scheduledFor?: Date;
  openPeriodReason?: string;
}

/** Inserts a running job; 409 when a real run for the period is going, or the due time was taken. */
export async function claimJob(knex: Knex, j: NewJob): Promise<JobRow> {
  try {
    const [row] = await knex('snapshot_jobs')
      .insert({
        id: randomUUID(),
        job_type: j.dryRun ? 'dry_run' : 'run',
        dry_run: j.dryRun,
        status: 'running',
        target_year: j.year,
        target_month: j.month,
        target_account_numbers: j.accounts ? JSON.stringify(j.accounts) : null,
        all_companies: !j.accounts,
        concurrency: j.concurrency,
        triggered_by: j.triggeredBy,
        started_at: knex.fn.now(),
        heartbeat_at: knex.fn.now(),
        owner: j.owner,
        scheduled_for: j.scheduledFor ?? null,
        open_period_reason: j.dryRun ? null : (j.openPeriodReason ?? null),
      })
      .returning('*');
    return row as JobRow;
  } catch (err) {
    const constraint = (err as { constraint?: string }).constraint;
    if (constraint === 'snapshot_jobs_one_active_run') throw await inProgressError(knex, j.year, j.month);
    if (constraint === 'snapshot_jobs_scheduled_once') {
      throw new ArchiveError('run_in_progress', `The scheduled run due at ${j.scheduledFor?.toISOString()} has already been started by another server or the timer`, {
        scheduled_for: j.scheduledFor?.toISOString(),
      });
    }
    throw err;
  }
}

/**
 * Reopens an interrupted, cancelled, partial or failed job for `owner`; undefined when it is in
 * another state. Its failed companies are to do again, their failure kept in
 * `details.earlier_failures`.
 */
export async function reopenJob(knex: Knex, row: JobRow, owner: string, triggeredBy?: string): Promise<JobRow | undefined> {
  let updated: JobRow | undefined;
  try {
    [updated] = await knex('snapshot_jobs')
      .where({ id: row.id })
      .whereIn('status', RESUMABLE_STATUSES)
      .update({
        status: 'running',
        cancel_requested_at: null,
        completed_at: null,
        error: null,
        success: null,
        owner,
        heartbeat_at: knex.fn.now(),
        resume_count: knex.raw('resume_count + 1'),
        triggered_by: triggeredBy ? knex.raw(`coalesce(triggered_by, '') || ?`, [` (resumed by ${triggeredBy})`]) : knex.ref('triggered_by'),
      })
      .returning('*');
  } catch (err) {
    if ((err as { constraint?: string }).constraint === 'snapshot_jobs_one_active_run') throw await inProgressError(knex, row.target_year, row.target_month);
    throw err;
  }
  if (!updated) return undefined;
  await reopenFailedItems(knex, row.id);
  return updated;
}

/** Records that a running job should stop; its runner sees it at the next save. */
export async function requestCancel(knex: Knex, id: string): Promise<JobRow | undefined> {
  const [updated] = await knex('snapshot_jobs').where({ id }).whereIn('status', ACTIVE).update({ cancel_requested_at: knex.fn.now() }).returning('*');
  return updated as JobRow | undefined;
}

export async function activeJobIds(knex: Knex): Promise<string[]> {
  return (await knex('snapshot_jobs').whereIn('status', ACTIVE).pluck('id')) as string[];
}

export async function markInterrupted(knex: Knex, ids: string[]): Promise<void> {
  await knex('snapshot_jobs').whereIn('id', ids).whereIn('status', ACTIVE).update({ status: 'interrupted', completed_at: knex.fn.now(), error: INTERRUPTED_MESSAGE });
}

/** Saves the live counters and the heartbeat; true when a cancel has been asked for meanwhile. */
export async function saveProgress(knex: Knex, id: string, counts: JobCounts): Promise<boolean> {
  const [r] = await knex('snapshot_jobs')
    .where({ id })
    .update({ ...countColumns(counts), heartbeat_at: knex.fn.now() })
    .returning('cancel_requested_at');
  return Boolean(r?.cancel_requested_at);
}

/** The job's end: status, error, counters, and where the time went (wall time, mean per company of each phase). */
export async function finishJob(knex: Knex, id: string, end: { status: JobStatus; error: string | null; counts: JobCounts; wallMs: number; phaseMs: Record<string, number> }): Promise<JobRow> {
  const { counts } = end;
  const [row] = (await knex('snapshot_jobs')
    .where({ id })
    .update({
      ...countColumns(counts),
      status: end.status,
      error: end.error,
      success: end.status === 'completed',
      completed_at: knex.fn.now(),
      heartbeat_at: knex.fn.now(),
      output: JSON.stringify({
        success_count: counts.archived + counts.would_archive + counts.already_archived,
        failed_count: counts.failed,
        counts,
        timings: {
          wall_ms: Math.round(end.wallMs),
          ...Object.fromEntries(Object.entries(end.phaseMs).map(([k, v]) => [`${k.replace('_ms', '')}_mean_ms`, Math.round((10 * v) / Math.max(1, counts.done)) / 10])),
        },
      }),
    })
    .returning('*')) as JobRow[];
  return row;
}

/** The first real run started for a due time at or after `at` (scheduled runs carry their due time). */
export async function scheduledRunSince(knex: Knex, at: Date): Promise<{ id: string; status: JobStatus } | undefined> {
  return knex('snapshot_jobs').where('dry_run', false).where('scheduled_for', '>=', at).first('id', 'status');
}

/** Real (not dry) runs by status, and the latest of them: what monitoring watches. */
export async function realRunSummary(knex: Knex): Promise<{ byStatus: Partial<Record<JobStatus, number>>; latest: JobRow | undefined }> {
  const [counts, latest] = await Promise.all([
    knex('snapshot_jobs').where('dry_run', false).groupBy('status').select('status', knex.raw('count(*)::int AS n')),
    knex('snapshot_jobs').where('dry_run', false).orderBy('created_at', 'desc').orderBy('id').first(),
  ]);
  return { byStatus: Object.fromEntries((counts as { status: JobStatus; n: number }[]).map((c) => [c.status, c.n])), latest: latest as JobRow | undefined };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function getJobRow(knex: Knex, id: string): Promise<JobRow> {
  const row = UUID.test(id) ? await Job.query(knex).findById(id) : undefined;
  if (!row) throw new ArchiveError('not_found', `No job with id ${id}`, { job_id: id });
  return row as unknown as JobRow;
}

type Window = { page: number; per_page: number; limit?: number; offset?: number };

/** Jobs, newest first, filtered by the model's modifiers. */
export async function listJobs(knex: Knex, q: { status?: string; type?: string; year?: number; month?: number } & Window) {
  const { limit, offset } = pageWindow(q);
  const base = Job.query(knex).modify('filtered', q);
  const [rows, total] = await Promise.all([base.clone().orderBy('created_at', 'desc').orderBy('id').limit(limit).offset(offset), base.clone().resultSize()]);
  return { jobs: (rows as unknown as JobRow[]).map(toJob), total, page: Math.floor(offset / limit) + 1, per_page: limit, limit, offset };
}

/** How many of Codex's entries had no account number (counted when a run is planned). */
export async function recordEntriesWithoutAccount(knex: Knex, id: string, n: number): Promise<void> {
  await Job.query(knex).findById(id).patch({ codex_entries_without_account: n });
}

async function inProgressError(knex: Knex, year: number, month: number): Promise<ArchiveError> {
  const existing = await knex('snapshot_jobs').where({ target_year: year, target_month: month, dry_run: false }).whereIn('status', ACTIVE).first('id', 'triggered_by', 'started_at');
  return new ArchiveError(
    'run_in_progress',
    `A run for ${periodText(year, month)} is already going${existing ? ` (job ${existing.id}, started by ${existing.triggered_by ?? 'unknown'})` : ''}; watch it or cancel it first`,
    { job_id: existing?.id ?? null, year, month },
  );
}
