/** How jobs and their per-company items look in the API and the CLI (their rows are owned by job-store.ts and job-items.ts). */
import type { Job, JobCounts, JobItem, JobStatus } from '../../shared/runs';

export type JobRow = Record<string, unknown> & { id: string; status: JobStatus; dry_run: boolean; target_year: number; target_month: number };

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());

export function countsOf(row: Record<string, unknown>): JobCounts {
  return {
    total: Number(row.total_companies),
    done: Number(row.completed_companies),
    archived: Number(row.archived_count),
    would_archive: Number(row.would_archive_count),
    already_archived: Number(row.already_archived_count),
    changed_since_archived: Number(row.changed_count),
    no_bill: Number(row.no_bill_count),
    skipped: Number(row.skipped_count),
    not_found: Number(row.not_found_count ?? 0),
    failed: Number(row.failed_companies),
  };
}

/** The job columns that hold the counts. */
export function countColumns(c: JobCounts): Record<string, number> {
  return {
    total_companies: c.total,
    completed_companies: c.done,
    archived_count: c.archived,
    would_archive_count: c.would_archive,
    already_archived_count: c.already_archived,
    changed_count: c.changed_since_archived,
    no_bill_count: c.no_bill,
    skipped_count: c.skipped,
    not_found_count: c.not_found,
    failed_companies: c.failed,
  };
}

export function toJob(row: JobRow): Job {
  return {
    id: row.id,
    job_type: row.dry_run ? 'dry_run' : 'run',
    dry_run: row.dry_run,
    status: row.status,
    target_year: row.target_year,
    target_month: row.target_month,
    all_companies: Boolean(row.all_companies),
    target_account_numbers: (row.target_account_numbers as string[] | null) ?? null,
    concurrency: Number(row.concurrency),
    counts: countsOf(row),
    codex_entries_without_account: Number(row.codex_entries_without_account),
    created_at: iso(row.created_at)!,
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
    cancel_requested_at: iso(row.cancel_requested_at),
    triggered_by: (row.triggered_by as string | null) ?? null,
    error: (row.error as string | null) ?? null,
    success: (row.success as boolean | null) ?? null,
    resume_count: Number(row.resume_count),
    open_period_reason: (row.open_period_reason as string | null) ?? null,
    timings: (row.output as { timings?: Record<string, number> } | null)?.timings ?? null,
  };
}

/** A job item as the API shows it, from a database row or from the values just written. */
export function toItem(item: object): JobItem {
  const row = item as Record<string, unknown>;
  return {
    account_number: row.account_number as string,
    company_name: (row.company_name as string | null) ?? null,
    outcome: (row.outcome as JobItem['outcome']) ?? null,
    error: (row.error as string | null) ?? null,
    attempts: Number(row.attempts),
    duration_ms: row.duration_ms === null ? null : Number(row.duration_ms),
    snapshot_id: row.snapshot_id === null ? null : Number(row.snapshot_id),
    invoice_number: (row.invoice_number as string | null) ?? null,
    total_amount: (row.total_amount as string | null) ?? null,
    line_item_count: row.line_item_count === null ? null : Number(row.line_item_count),
    details: (row.details as Record<string, unknown> | null) ?? null,
    finished_at: iso(row.finished_at),
  };
}

export const EMPTY_COUNTS: JobCounts = { total: 0, done: 0, archived: 0, would_archive: 0, already_archived: 0, changed_since_archived: 0, no_bill: 0, skipped: 0, not_found: 0, failed: 0 };

/** Which counter each outcome adds to. */
export const OUTCOME_COUNT: Record<NonNullable<JobItem['outcome']>, keyof JobCounts> = {
  archived: 'archived',
  would_archive: 'would_archive',
  already_archived: 'already_archived',
  changed_since_archived: 'changed_since_archived',
  no_bill: 'no_bill',
  skipped: 'skipped',
  not_found: 'not_found',
  failed: 'failed',
};
