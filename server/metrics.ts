/**
 * Prometheus metrics (prom-client): request durations by route and status, counted as they
 * happen; everything else read at scrape time from ops/state.ts (bills archived, runs and
 * their companies' outcomes, the schedule, the pool, the integrity log and the last verify,
 * the last backup and its restore check, sizes and free disk), so every instance on one
 * database reports the same figures and nothing is lost on restart. The alert rules in
 * monitoring/archive-alerts.yml are written against these names.
 */
import type { Knex } from 'knex';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { JOB_STATUSES } from '../shared/runs';
import { opsState, type OpsStateOptions } from './ops/state';

export interface Metrics {
  registry: Registry;
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  /** The text exposition, with the scrape-time figures read first. */
  render(): Promise<string>;
  contentType: string;
}

export function createMetrics(knex: Knex, opts: Omit<OpsStateOptions, 'now'>): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'archive_' });
  const gauge = <L extends string = never>(name: string, help: string, labelNames: L[] = []) => new Gauge<L>({ name, help, labelNames, registers: [registry] });

  const requests = new Histogram<'route' | 'method' | 'status'>({
    name: 'archive_http_request_duration_seconds',
    help: 'HTTP requests by route (as declared), method and status',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const g = {
    dbUp: gauge('archive_database_up', '1 when the database answered the scrape, 0 when it did not'),
    dbBytes: gauge('archive_database_size_bytes', 'Size of the database'),
    tableBytes: gauge('archive_table_size_bytes', 'Size of each table with its indexes and TOAST', ['table']),
    bills: gauge('archive_bills_archived', 'Bills archived, every revision (rows of billing_snapshots)'),
    corrections: gauge('archive_corrections_archived', 'Corrections among the archived bills'),
    runs: gauge('archive_runs', 'Real (not dry) snapshot runs by status', ['status']),
    lastRunStatus: gauge('archive_last_run_status', 'The latest real run: 1 for its status, 0 for the others', ['status']),
    lastRunStart: gauge('archive_last_run_timestamp_seconds', 'When the latest real run was started'),
    lastRunEnd: gauge('archive_last_run_completed_timestamp_seconds', 'When the latest real run ended (0 while it runs)'),
    lastRunCompanies: gauge('archive_last_run_companies', "The latest real run's companies by outcome", ['outcome']),
    enabled: gauge('archive_schedule_enabled', '1 when the schedule is enabled'),
    next: gauge('archive_schedule_next_run_timestamp_seconds', 'When the schedule fires next (0 when disabled)'),
    overdue: gauge('archive_schedule_overdue_seconds', 'How long a due scheduled run has not started (0 when none is due)'),
    poolUsed: gauge('archive_db_pool_connections', 'Database pool connections by state', ['state']),
    queued: gauge('archive_integrity_queued_leaves', 'Leaves waiting for the sequencer'),
    lag: gauge('archive_integrity_lag_seconds', 'How long the oldest queued leaf has waited'),
    checkpointSize: gauge('archive_integrity_checkpoint_size', 'Leaves in the latest signed checkpoint'),
    checkpointAge: gauge('archive_integrity_checkpoint_age_seconds', 'Age of the latest signed checkpoint'),
    verifyOk: gauge('archive_integrity_verify_ok', 'The last archive verify: 1 passed, 0 found something, -1 never run'),
    verifyAt: gauge('archive_integrity_verify_timestamp_seconds', 'When archive verify last ran (0: never)'),
    backupAt: gauge('archive_backup_last_timestamp_seconds', 'When the latest backup was made (0: there is none)'),
    backupBytes: gauge('archive_backup_last_size_bytes', 'Size of the latest backup'),
    backupChecked: gauge('archive_backup_last_check_ok', 'The latest backup restored and verified by archive restore --check: 1 passed, 0 failed, -1 never checked'),
    diskFree: gauge('archive_disk_free_bytes', 'Free space for the data folder and the backups', ['role', 'path']),
    diskSize: gauge('archive_disk_size_bytes', 'Size of the file system of the data folder and the backups', ['role', 'path']),
  };
  const seconds = (d: Date | string | null | undefined) => (d ? new Date(d).getTime() / 1000 : 0);

  async function refresh(): Promise<void> {
    const s = await opsState(knex, opts);
    const pool = (knex.client as { pool?: { numUsed(): number; numFree(): number; numPendingAcquires(): number } }).pool;
    if (pool) {
      g.poolUsed.set({ state: 'used' }, pool.numUsed());
      g.poolUsed.set({ state: 'free' }, pool.numFree());
      g.poolUsed.set({ state: 'pending' }, pool.numPendingAcquires());
    }
    for (const d of s.disk) {
      g.diskFree.set({ role: d.role, path: d.path }, d.free_bytes);
      g.diskSize.set({ role: d.role, path: d.path }, d.size_bytes);
    }
    g.backupAt.set(seconds(s.backup?.manifest.created_at));
    g.backupBytes.set(s.backup?.manifest.bytes ?? 0);
    g.backupChecked.set(s.backup?.check ? (s.backup.check.ok ? 1 : 0) : -1);
    g.dbUp.set(s.database.up ? 1 : 0);
    if (!s.database.up) return;
    g.dbBytes.set(s.database.bytes);
    g.tableBytes.reset();
    for (const [table, bytes] of Object.entries(s.database.tables)) g.tableBytes.set({ table }, Number(bytes));
    g.bills.set(s.bills!.archived);
    g.corrections.set(s.bills!.corrections);
    for (const status of JOB_STATUSES) {
      g.runs.set({ status }, s.runs!.byStatus[status] ?? 0);
      g.lastRunStatus.set({ status }, s.runs!.latest?.status === status ? 1 : 0);
    }
    const latest = s.runs!.latest;
    g.lastRunStart.set(seconds(latest?.created_at));
    g.lastRunEnd.set(seconds(latest?.completed_at));
    g.lastRunCompanies.reset();
    for (const [outcome, n] of Object.entries(latest?.outcomes ?? {})) g.lastRunCompanies.set({ outcome }, n);
    g.enabled.set(s.schedule!.enabled ? 1 : 0);
    g.next.set(seconds(s.schedule!.next_run_at));
    g.overdue.set(s.schedule!.overdue_seconds);
    g.queued.set(s.integrity!.queued);
    g.lag.set(s.integrity!.lag_seconds);
    g.checkpointSize.set(s.integrity!.checkpoint_size ?? 0);
    g.checkpointAge.set(s.integrity!.checkpoint_age_seconds ?? 0);
    g.verifyOk.set(s.verify ? (s.verify.ok ? 1 : 0) : -1);
    g.verifyAt.set(seconds(s.verify?.at));
  }

  return {
    registry,
    contentType: registry.contentType,
    observeRequest: (route, method, status, secs) => requests.observe({ route, method, status: String(status) }, secs),
    render: async () => {
      await refresh();
      return registry.metrics();
    },
  };
}
