/**
 * The one owner of the schedule's row (`scheduled_snapshots`, through its Objection model):
 * the default row, reading it, changing it, its last-run fields, and its change stamp.
 */
import type { Knex } from 'knex';
import { SchedulerConfigUpdate } from '../../shared/runs';
import { recordAudit, type AuditContext } from '../audit/trail';
import { ArchiveError, validationError } from '../errors';
import { ScheduleConfig } from '../models/ScheduleConfig';

export type ScheduleRow = Omit<ScheduleConfig, keyof import('objection').Model | 'id' | 'last_run_log'>;

const ROW = 1;

/** The default schedule of the guide: enabled, day 1 at 02:00, previous month, all companies. True when it was created now. */
export async function ensureDefaultSchedule(knex: Knex): Promise<boolean> {
  // Plain knex here: Objection reports an insert ignored on conflict as inserted.
  const inserted = await knex(ScheduleConfig.tableName)
    .insert({ id: ROW, enabled: true, day_of_month: '1', hour: 2, snapshot_previous_month: true, snapshot_all_companies: true })
    .onConflict('id')
    .ignore()
    .returning('id');
  return inserted.length > 0;
}

export async function readSchedule(knex: Knex): Promise<ScheduleRow> {
  const row = await ScheduleConfig.query(knex).findById(ROW);
  if (!row) throw new ArchiveError('not_found', 'The scheduler configuration row is missing; run `archive init-db` to create it');
  return row;
}

/** The zone the row names (null: the server's), or undefined when there is no row. */
export async function storedZone(knex: Knex): Promise<string | null | undefined> {
  const row = await ScheduleConfig.query(knex).findById(ROW).select('timezone');
  return row ? row.timezone : undefined;
}

/** When the row last changed (the touch trigger moves it, also for changes made with SQL). */
export async function scheduleStamp(knex: Knex): Promise<string | undefined> {
  const row = await ScheduleConfig.query(knex).findById(ROW).select('updated_at');
  return row ? new Date(row.updated_at).toISOString() : undefined;
}

/**
 * Applies a validated change (any subset of the editable fields) and returns the row as it
 * now is. A schedule of a list of accounts must name at least one. With `audit`, the change
 * (its fields before and after) goes into the audit trail in the same transaction.
 */
export async function updateSchedule(knex: Knex, update: SchedulerConfigUpdate, audit?: AuditContext): Promise<ScheduleRow> {
  if (audit) {
    return knex.transaction(async (trx) => {
      const before = await readSchedule(trx);
      const after = await updateSchedule(trx, update);
      const editable = (r: ScheduleRow) => Object.fromEntries(Object.keys(SchedulerConfigUpdate.shape).map((k) => [k, (r as Record<string, unknown>)[k] ?? null]));
      await recordAudit(trx, { ...audit, action: 'schedule.changed', details: { before: editable(before), after: editable(after) } });
      return after;
    });
  }
  const current = await readSchedule(knex);
  const allCompanies = update.snapshot_all_companies ?? current.snapshot_all_companies;
  const accounts = update.account_numbers ?? current.account_numbers ?? [];
  if (!allCompanies && accounts.length === 0) {
    throw validationError([{ field: 'account_numbers', reason: 'must list at least one account when snapshot_all_companies is false' }], 'scheduler configuration');
  }
  const { account_numbers, day_of_month, ...rest } = update;
  const changes: Record<string, unknown> = { ...rest };
  if (day_of_month !== undefined) changes.day_of_month = String(day_of_month);
  if (account_numbers !== undefined) changes.account_numbers = JSON.stringify([...new Set(account_numbers)]);
  if (Object.keys(changes).length > 0) await ScheduleConfig.query(knex).findById(ROW).patch(changes);
  return readSchedule(knex);
}

/** A scheduled real run has ended: the schedule's last-run fields say how. */
export async function recordScheduledRun(knex: Knex, run: { jobId: string; startedAt: unknown; status: 'completed' | 'partial' | 'failed'; archived: number; error: string | null }): Promise<void> {
  await ScheduleConfig.query(knex)
    .findById(ROW)
    .patch({
      last_run_at: run.startedAt as Date,
      last_run_status: run.status === 'completed' ? 'success' : run.status,
      last_run_count: run.archived,
      last_run_job_id: run.jobId,
      last_run_log: run.error,
    });
}
