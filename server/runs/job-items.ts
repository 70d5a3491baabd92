/**
 * The one owner of a run's company items (`snapshot_job_items`, through the JobItem model
 * where a plain query does; in SQL where one statement writes many, or writes an outcome
 * together with its snapshot): planning them, reading them, recording outcomes, counting
 * them, and taking failed ones up again on a resume.
 */
import type { Knex } from 'knex';
import { pageWindow, type ItemOutcome, type JobCounts, type JobItem } from '../../shared/runs';
import { JobItemRow } from '../models/JobItemRow';
import { EMPTY_COUNTS, OUTCOME_COUNT, toItem } from './jobs';

/** The values of one company's outcome, as the recorder writes them: a finished JobItem. */
export type ItemValues = Omit<JobItem, 'outcome' | 'duration_ms' | 'finished_at'> & { outcome: ItemOutcome; duration_ms: number; finished_at: Date };

/** A company's new details, keeping what a resume left there (its earlier failures). */
const MERGE_DETAILS = (current: string, incoming: string) =>
  `(SELECT CASE WHEN jsonb_exists(v.c, 'earlier_failures') THEN coalesce(v.i, '{}'::jsonb) || jsonb_build_object('earlier_failures', v.c -> 'earlier_failures') ELSE v.i END
      FROM (SELECT ${current} AS c, ${incoming} AS i) v)`;

/** A new item per planned company (in batches); `outcome` set for the ones decided at planning. */
export async function insertItems(knex: Knex, jobId: string, planned: { account_number: string; company_name: string | null; outcome?: ItemOutcome | null; error?: string | null }[]): Promise<void> {
  const rows = planned.map((p, i) => ({
    job_id: jobId,
    account_number: p.account_number,
    company_name: p.company_name?.slice(0, 150) ?? null,
    position: i + 1,
    outcome: p.outcome ?? null,
    error: p.error ?? null,
    finished_at: p.outcome ? new Date() : null,
  }));
  for (let i = 0; i < rows.length; i += 1000) await JobItemRow.query(knex).insert(rows.slice(i, i + 1000));
}

/** The job's items in their order, with their outcome so far. */
export async function itemsOf(knex: Knex, jobId: string): Promise<{ account_number: string; company_name: string | null; outcome: string | null }[]> {
  return JobItemRow.query(knex).where({ job_id: jobId }).orderBy('position').select('account_number', 'company_name', 'outcome');
}

/** Fails a company still to do, with its reason (a resume that finds its Codex entry still odd). */
export async function failItem(knex: Knex, jobId: string, account: string, error: string): Promise<void> {
  await JobItemRow.query(knex).where({ job_id: jobId, account_number: account }).whereNull('outcome').patch({ outcome: 'failed', error, finished_at: new Date() });
}

/** A resume takes the failed companies up again; each failure stays in `details.earlier_failures`. */
export async function reopenFailedItems(knex: Knex, jobId: string): Promise<void> {
  await knex.raw(
    `UPDATE snapshot_job_items
        SET details = jsonb_build_object('earlier_failures',
              coalesce(details -> 'earlier_failures', '[]'::jsonb)
              || jsonb_build_array(jsonb_build_object('error', error, 'attempts', attempts, 'finished_at', finished_at))),
            outcome = NULL, error = NULL, finished_at = NULL
      WHERE job_id = ? AND outcome = 'failed'`,
    [jobId],
  );
}

/** The counters as the job's items say (after planning, or when a resume takes up a job). */
export async function countOutcomes(knex: Knex, jobId: string): Promise<JobCounts> {
  const rows = (await JobItemRow.query(knex).where({ job_id: jobId }).groupBy('outcome').select('outcome').count({ n: '*' })) as unknown as { outcome: string | null; n: number }[];
  const counts = { ...EMPTY_COUNTS };
  for (const r of rows) {
    const n = Number(r.n);
    counts.total += n;
    if (r.outcome) {
      counts.done += n;
      counts[OUTCOME_COUNT[r.outcome as keyof typeof OUTCOME_COUNT]] += n;
    }
  }
  return counts;
}

type Window = { page: number; per_page: number; limit?: number; offset?: number };

export async function listItems(knex: Knex, jobId: string, q: { outcome?: string } & Window) {
  const { limit, offset } = pageWindow(q);
  const base = JobItemRow.query(knex)
    .where('job_id', jobId)
    .modify((b) => {
      if (q.outcome === 'pending') b.whereNull('outcome');
      else if (q.outcome) b.where('outcome', q.outcome);
    });
  const [rows, total] = await Promise.all([base.clone().orderBy('position').limit(limit).offset(offset), base.clone().resultSize()]);
  return { items: rows.map(toItem), total, page: Math.floor(offset / limit) + 1, per_page: limit, limit, offset };
}

/** The bills Ledger gave for the job's period so far: how many, and their sum (exact), to reconcile against Ledger. */
export async function billedOf(knex: Knex, jobId: string): Promise<{ bills: number; total: string }> {
  const row = (await JobItemRow.query(knex)
    .where('job_id', jobId)
    .first()
    .select(knex.raw('count(total_amount)::int AS bills'), knex.raw('coalesce(sum(total_amount), 0)::text AS total'))) as unknown as {
    bills: number;
    total: string;
  };
  return { bills: Number(row.bills), total: row.total };
}

/**
 * One outcome statement, for one company or many: the outcomes come as a JSON array of
 * ItemValues (`x`); `snapshotId` is the SQL of the snapshot's id (the new row's, when the
 * outcome is written in the same statement as its snapshot).
 */
const UPDATE_OUTCOMES = (snapshotId: string, where: string) => `UPDATE snapshot_job_items AS t
    SET outcome = x.outcome, error = x.error, attempts = x.attempts, duration_ms = x.duration_ms, snapshot_id = ${snapshotId},
        invoice_number = x.invoice_number, total_amount = x.total_amount, line_item_count = x.line_item_count, details = ${MERGE_DETAILS('t.details', 'x.details')},
        finished_at = x.finished_at, company_name = coalesce(x.company_name, t.company_name)
   FROM jsonb_to_recordset(?::jsonb) AS x(account_number text, company_name text, outcome text, error text, attempts int, duration_ms int,
        snapshot_id bigint, invoice_number text, total_amount numeric, line_item_count int, details jsonb, finished_at timestamptz)
  WHERE t.job_id = ? AND t.account_number = x.account_number${where}`;

const asJson = (batch: ItemValues[]) => JSON.stringify(batch.map((v) => ({ ...v, finished_at: v.finished_at.toISOString() })));

/**
 * The statement that records an archived company's outcome, run in the same statement as its
 * snapshot's insert (a CTE beside it: `(SELECT id FROM s)` is the new snapshot's id).
 */
export function outcomeAlongsideSnapshot(jobId: string, values: ItemValues): { sql: string; bindings: Knex.RawBinding[] } {
  return { sql: UPDATE_OUTCOMES('(SELECT id FROM s)', ''), bindings: [asJson([values]), jobId] };
}

/** Many outcomes in one UPDATE (only companies still to do); resolves with the accounts written. */
export async function recordOutcomes(knex: Knex, jobId: string, batch: ItemValues[]): Promise<Set<string>> {
  const r = (await knex.raw(`${UPDATE_OUTCOMES('x.snapshot_id', ' AND t.outcome IS NULL')} RETURNING t.account_number`, [asJson(batch), jobId])) as { rows: { account_number: string }[] };
  return new Set(r.rows.map((x) => x.account_number));
}

export type { JobItem };
