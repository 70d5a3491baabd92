/**
 * What an operator watches, read from its owners: the database, bills archived, the real
 * runs and the schedule, the integrity log and the last verify, the last backup and its
 * restore check, the pool, sizes and free disk. `/metrics` and `archive doctor` both read it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import type { JobCounts, JobStatus } from '../../shared/runs';
import { latestAudit } from '../audit/trail';
import { latestCheckpoint, queueState } from '../integrity/log';
import { realRunSummary } from '../runs/job-store';
import { countsOf } from '../runs/jobs';
import { dueRun, readSchedule, scheduleView } from '../schedule/schedule';
import { archivedCounts } from '../snapshots/search';
import { listBackups, type BackupEntry } from './backup-files';

export interface OpsState {
  database: { up: true; bytes: number; tables: Record<string, number> } | { up: false; error: string };
  bills?: { archived: number; corrections: number };
  runs?: {
    byStatus: Partial<Record<JobStatus, number>>;
    latest: { id: string; status: JobStatus; period: string; created_at: Date; completed_at: Date | null; outcomes: Record<string, number> } | null;
  };
  schedule?: { enabled: boolean; next_run_at: string | null; overdue_seconds: number; last_run_status: string | null; error?: string };
  integrity?: { queued: number; lag_seconds: number; checkpoint_size: number | null; checkpoint_age_seconds: number | null };
  verify?: { at: Date; ok: boolean } | null;
  backup: BackupEntry | null;
  disk: { path: string; role: 'data' | 'backups'; free_bytes: number; size_bytes: number }[];
}

/** A run's companies by outcome (what each company came to). */
function outcomesOf(c: JobCounts): Record<string, number> {
  const { total: _total, done: _done, would_archive: _would, ...outcomes } = c;
  return outcomes;
}

export interface OpsStateOptions {
  serverTz: string;
  dataDir: string;
  backupDir: string;
  now?: Date;
}

/** A size as an operator reads it: MB, or GB from 1 GB on. */
export const sizeText = (bytes: number) => (bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${(bytes / 1024 ** 2).toFixed(1)} MB`);

/** The archive's tables (a partitioned one once, not each partition): `c` in pg_class, for a FROM clause. */
export const ARCHIVE_TABLES = `pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition`;

/** Sizes of the archive's tables (with their indexes and TOAST; a partitioned table with its partitions). */
async function sizes(knex: Knex): Promise<{ bytes: number; tables: Record<string, number> }> {
  const { rows } = await knex.raw(`SELECT pg_database_size(current_database())::bigint AS db,
      (SELECT json_object_agg(c.relname, CASE WHEN c.relkind = 'p' THEN (SELECT sum(pg_total_relation_size(t.relid)) FROM pg_partition_tree(c.oid) t) ELSE pg_total_relation_size(c.oid) END)
        FROM ${ARCHIVE_TABLES}) AS tables`);
  return { bytes: Number(rows[0].db), tables: rows[0].tables ?? {} };
}

function disk(p: string, role: 'data' | 'backups'): OpsState['disk'][number] | undefined {
  // The folder, or the nearest one above it that exists (a backup folder not made yet).
  for (let dir = p; ; dir = path.dirname(dir)) {
    try {
      const s = fs.statfsSync(dir);
      return { path: p, role, free_bytes: s.bavail * s.bsize, size_bytes: s.blocks * s.bsize };
    } catch {
      if (dir === path.dirname(dir)) return undefined;
    }
  }
}

export async function opsState(knex: Knex, opts: OpsStateOptions): Promise<OpsState> {
  const now = opts.now ?? new Date();
  const state: OpsState = { database: { up: false, error: '' }, backup: null, disk: [] };
  state.backup = listBackups(opts.backupDir)[0] ?? null;
  state.disk = [disk(opts.dataDir, 'data'), disk(opts.backupDir, 'backups')].filter((d) => d !== undefined);
  try {
    state.database = { up: true, ...(await sizes(knex)) };
  } catch (err) {
    state.database = { up: false, error: (err as Error).message };
    return state;
  }
  try {
    await readTheRest(knex, state, opts.serverTz, now);
  } catch (err) {
    // The database went away between the statements: say so, keep what is known.
    state.database = { up: false, error: (err as Error).message };
  }
  return state;
}

async function readTheRest(knex: Knex, state: OpsState, serverTz: string, now: Date): Promise<void> {
  const [bills, runs, queue, checkpoint, verify, schedule] = await Promise.all([
    archivedCounts(knex),
    realRunSummary(knex),
    queueState(knex),
    latestCheckpoint(knex),
    latestAudit(knex, 'verify.run'),
    readSchedule(knex),
  ]);
  state.bills = { archived: bills.bills, corrections: bills.corrections };
  const l = runs.latest;
  state.runs = {
    byStatus: runs.byStatus,
    latest: l
      ? {
          id: l.id,
          status: l.status,
          period: `${l.target_year}-${String(l.target_month).padStart(2, '0')}`,
          created_at: new Date(l.created_at as string),
          completed_at: l.completed_at ? new Date(l.completed_at as string) : null,
          outcomes: outcomesOf(countsOf(l)),
        }
      : null,
  };
  try {
    const view = scheduleView(schedule, serverTz, now);
    const due = await dueRun(knex, serverTz, now);
    state.schedule = {
      enabled: view.enabled,
      next_run_at: view.next_run_at,
      overdue_seconds: due.due ? Math.max(0, Math.round((now.getTime() - due.at.getTime()) / 1000)) : 0,
      last_run_status: view.last_run_status,
    };
  } catch (err) {
    state.schedule = { enabled: schedule.enabled, next_run_at: null, overdue_seconds: 0, last_run_status: schedule.last_run_status, error: (err as Error).message };
  }
  state.integrity = {
    queued: queue.queued,
    lag_seconds: queue.oldest_queued_seconds ?? 0,
    checkpoint_size: checkpoint ? checkpoint.size : null,
    checkpoint_age_seconds: checkpoint ? Math.max(0, (now.getTime() - new Date(checkpoint.signed_at).getTime()) / 1000) : null,
  };
  state.verify = verify ? { at: verify.at, ok: verify.details.ok === true } : null;
}
