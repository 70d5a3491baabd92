/**
 * The contract of snapshot runs, jobs and the schedule (docs/contract.md sections 2 and 3):
 * request schemas, response types and the progress events. Browser-safe.
 */
import { z } from 'zod';
import { isTimeZone } from './api';
import { textProblem } from './storable';
import { ACCOUNT_NUMBER } from './period';

export const JOB_STATUSES = ['pending', 'running', 'completed', 'partial', 'failed', 'cancelled', 'interrupted'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINISHED_STATUSES: readonly JobStatus[] = ['completed', 'partial', 'failed', 'cancelled', 'interrupted'];
/** A run in one of these may be resumed: the companies not yet done are taken up again. */
export const RESUMABLE_STATUSES: readonly JobStatus[] = ['interrupted', 'cancelled', 'partial', 'failed'];

/** `not_found`: a company the run was asked for by account number that Codex does not know. */
export const ITEM_OUTCOMES = ['archived', 'would_archive', 'already_archived', 'changed_since_archived', 'no_bill', 'skipped', 'not_found', 'failed'] as const;
export type ItemOutcome = (typeof ITEM_OUTCOMES)[number];

/** Each outcome in words, as people read it on screen. */
export const OUTCOME_LABELS: Record<ItemOutcome | 'pending', string> = {
  archived: 'archived',
  would_archive: 'would be archived',
  already_archived: 'already archived',
  changed_since_archived: 'changed since archived',
  no_bill: 'no bill this month',
  skipped: 'skipped',
  not_found: 'unknown to Codex',
  failed: 'failed',
  pending: 'still to do',
};

/** The outcomes a job has (every count that is not zero), in the table's order, in words. */
export function outcomeCounts(c: JobCounts): { outcome: ItemOutcome; label: string; count: number }[] {
  return ITEM_OUTCOMES.filter((o) => c[o] > 0).map((o) => ({ outcome: o, label: OUTCOME_LABELS[o], count: c[o] }));
}

export const JOB_TYPES = ['run', 'dry_run'] as const;
export type JobType = (typeof JOB_TYPES)[number];

const ACCOUNT = z.string().regex(ACCOUNT_NUMBER, { message: 'must be an account number (digits)' });
const year = z.number().int({ message: 'must be a whole number' }).min(2000, { message: 'must be 2000 or later' }).max(2100, { message: 'must be 2100 or earlier' });
const month = z.number().int({ message: 'must be a whole number' }).min(1, { message: 'must be 1 to 12' }).max(12, { message: 'must be 1 to 12' });

/** `POST /api/companies/check`: an account list to check with Codex. */
export const AccountCheckRequest = z.strictObject({ accounts: z.array(ACCOUNT).min(1, { message: 'must name at least one account' }).max(10_000) });

/** `POST /api/runs`: one period, all companies or a list, real or dry. */
export const RunRequest = z
  .strictObject({
    year,
    month,
    accounts: z.array(ACCOUNT).min(1, { message: 'must name at least one account' }).max(10_000).optional(),
    all: z.boolean().optional(),
    dry_run: z.boolean({ message: 'is required: true for a dry run, false to archive' }),
    concurrency: z.number().int().min(1, { message: 'must be 1 to 64' }).max(64, { message: 'must be 1 to 64' }).optional(),
    /** A real run of a month that has not ended archives provisional bills for good: only when asked, with a reason. */
    allow_open_period: z.boolean().optional(),
    reason: z
      .string()
      .trim()
      .min(1, { message: 'must say why' })
      .max(500, { message: 'must be at most 500 characters' })
      .refine((s) => !textProblem(s), { message: 'must be plain text' })
      .optional(),
  })
  .superRefine((v, ctx) => {
    if (v.accounts && v.all) ctx.addIssue({ code: 'custom', path: ['all'], message: 'cannot be combined with accounts' });
    if (!v.accounts && v.all === false) ctx.addIssue({ code: 'custom', path: ['accounts'], message: 'is required when all is false' });
    if (v.allow_open_period && !v.reason) ctx.addIssue({ code: 'custom', path: ['reason'], message: 'is required with allow_open_period: say why this month is archived before it has ended' });
  });
export type RunRequest = z.infer<typeof RunRequest>;

export const DAY_OF_MONTH = z.union([z.literal('last'), z.number().int().min(1).max(28), z.string().regex(/^([1-9]|1[0-9]|2[0-8])$/)], {
  message: 'must be 1 to 28 or "last"',
});

/** `POST /api/scheduler/config`: any subset of the editable fields; unknown fields are refused. */
export const SchedulerConfigUpdate = z.strictObject({
  enabled: z.boolean().optional(),
  day_of_month: DAY_OF_MONTH.optional(),
  hour: z.number().int({ message: 'must be a whole number' }).min(0, { message: 'must be 0 to 23' }).max(23, { message: 'must be 0 to 23' }).optional(),
  timezone: z.string().refine(isTimeZone, { message: "must be an IANA time zone such as Europe/Berlin (or null for the server's zone)" }).nullable().optional(),
  snapshot_previous_month: z.boolean().optional(),
  snapshot_all_companies: z.boolean().optional(),
  account_numbers: z.array(ACCOUNT).max(10_000).optional(),
});
export type SchedulerConfigUpdate = z.infer<typeof SchedulerConfigUpdate>;

export interface SchedulerConfig {
  enabled: boolean;
  day_of_month: number | 'last';
  hour: number;
  /** The zone the day and hour are read in; null means the server's zone (`effective_timezone`). */
  timezone: string | null;
  effective_timezone: string;
  snapshot_previous_month: boolean;
  snapshot_all_companies: boolean;
  account_numbers: string[];
  last_run_at: string | null;
  last_run_status: 'success' | 'partial' | 'failed' | null;
  last_run_count: number | null;
  last_run_job_id: string | null;
  /** When the schedule fires next (null when disabled), and which period it will archive. */
  next_run_at: string | null;
  next_run_period: { year: number; month: number } | null;
  updated_at: string;
}

export const JobsQuery = z.strictObject({
  status: z.enum(JOB_STATUSES, { message: `must be one of ${JOB_STATUSES.join(', ')}` }).optional(),
  type: z.enum(JOB_TYPES, { message: `must be one of ${JOB_TYPES.join(', ')}` }).optional(),
  year: z.coerce.number().pipe(year).optional(),
  month: z.coerce.number().pipe(month).optional(),
  page: z.coerce.number().int().min(1, { message: 'must be 1 or more' }).default(1),
  per_page: z.coerce.number().int().min(1, { message: 'must be 1 to 200' }).max(200, { message: 'must be 1 to 200' }).default(50),
  // limit/offset, as on search and in the earlier Archive; they win over page/per_page.
  limit: z.coerce.number().int().min(1, { message: 'must be 1 to 200' }).max(200, { message: 'must be 1 to 200' }).optional(),
  offset: z.coerce.number().int().min(0, { message: 'must be 0 or more' }).max(10_000_000, { message: 'must be at most 10000000' }).optional(),
});

export const JobItemsQuery = z.strictObject({
  outcome: z.enum([...ITEM_OUTCOMES, 'pending'] as [string, ...string[]]).optional(),
  page: z.coerce.number().int().min(1, { message: 'must be 1 or more' }).default(1),
  per_page: z.coerce.number().int().min(1, { message: 'must be 1 to 1000' }).max(1000, { message: 'must be 1 to 1000' }).default(200),
  limit: z.coerce.number().int().min(1, { message: 'must be 1 to 1000' }).max(1000, { message: 'must be 1 to 1000' }).optional(),
  offset: z.coerce.number().int().min(0, { message: 'must be 0 or more' }).max(10_000_000, { message: 'must be at most 10000000' }).optional(),
});

/** A list's window: `limit`/`offset` when given, else `page`/`per_page`. */
export function pageWindow(q: { page: number; per_page: number; limit?: number; offset?: number }): { limit: number; offset: number } {
  const limit = q.limit ?? q.per_page;
  return { limit, offset: q.offset ?? (q.page - 1) * limit };
}

export interface JobCounts {
  total: number;
  done: number;
  archived: number;
  would_archive: number;
  already_archived: number;
  changed_since_archived: number;
  no_bill: number;
  skipped: number;
  not_found: number;
  failed: number;
}

export interface Job {
  id: string;
  job_type: JobType;
  dry_run: boolean;
  status: JobStatus;
  target_year: number;
  target_month: number;
  all_companies: boolean;
  target_account_numbers: string[] | null;
  concurrency: number;
  counts: JobCounts;
  codex_entries_without_account: number;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  cancel_requested_at: string | null;
  triggered_by: string | null;
  error: string | null;
  success: boolean | null;
  resume_count: number;
  /** Why a real run was allowed for a month that had not ended (allow_open_period). */
  open_period_reason: string | null;
  /** When finished: the wall time and the mean per company of each phase (fetch, build, record), in ms. */
  timings: Record<string, number> | null;
}

export interface JobItem {
  account_number: string;
  company_name: string | null;
  /** null while the company is still to do. */
  outcome: ItemOutcome | null;
  error: string | null;
  attempts: number;
  duration_ms: number | null;
  snapshot_id: number | null;
  invoice_number: string | null;
  total_amount: string | null;
  line_item_count: number | null;
  /** The plan of a dry run and the differences of a changed bill (amounts as decimal text). */
  details: Record<string, unknown> | null;
  finished_at: string | null;
}

/** The events of `GET /api/runs/:id/events` (server-sent events, `event:` is the type). */
export type RunEvent = { type: 'job'; job: Job } | { type: 'item'; job_id: string; item: JobItem; counts: JobCounts } | { type: 'end'; job: Job };

/** An event of the stream as a RunEvent, or null for anything else (a newer server's event, a stray message). */
export function runEventOf(type: string, data: unknown): RunEvent | null {
  if (typeof data !== 'object' || data === null || (data as { type?: unknown }).type !== type) return null;
  const d = data as Record<string, unknown>;
  const isObject = (v: unknown) => typeof v === 'object' && v !== null;
  if ((type === 'job' || type === 'end') && isObject(d.job)) return data as RunEvent;
  if (type === 'item' && isObject(d.item) && isObject(d.counts) && typeof d.job_id === 'string') return data as RunEvent;
  return null;
}
