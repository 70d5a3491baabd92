/**
 * The schedule, driven by the one `scheduled_snapshots` row (docs/contract.md section 3): the
 * day (1-28 or `last`) and hour in a time zone, previous or current month, all companies
 * or a stored list. node-schedule fires at the next due time; a change through the API
 * re-arms at once, a change with plain SQL is noticed by polling `updated_at` (the row's
 * trigger moves it). A due time missed while the server was down is caught up once at
 * start-up, like systemd's Persistent=true. The CLI (and so the systemd timer) decides
 * "is a run due?" with the same functions.
 */
import type { Knex } from 'knex';
import schedule from 'node-schedule';
import type { SchedulerConfig } from '../../shared/runs';
import type { Logger } from '../log';
import { ArchiveError } from '../errors';
import { scheduledRunSince } from '../runs/job-store';
import { readSchedule, scheduleStamp, type ScheduleRow } from './store';
import { nextDue, periodFor, previousDue } from '../../shared/schedule';
import { isTimeZone } from '../../shared/api';

export { nextDue, periodFor, previousDue };

export { readSchedule, recordScheduledRun, updateSchedule, type ScheduleRow } from './store';

/**
 * The zone the schedule is read in. One the row names but this server cannot use (written
 * before the database checked it, or one PostgreSQL knows and JavaScript does not) is
 * reported in words wherever the schedule is read, never as a stack trace.
 */
export function zoneOf(row: Pick<ScheduleRow, 'timezone'>, serverTz: string): string {
  const tz = row.timezone ?? serverTz;
  if (!isTimeZone(tz) || tz.trim() === '') {
    throw new ArchiveError(
      'invalid_state',
      `The schedule's time zone ${JSON.stringify(tz)} is not a time zone this server knows; set an IANA zone such as Europe/Berlin (POST /api/scheduler/config with "timezone", or null for the server's zone)`,
      { timezone: tz },
    );
  }
  return tz;
}

export function scheduleView(row: ScheduleRow, serverTz: string, now = new Date()): SchedulerConfig {
  const tz = zoneOf(row, serverTz);
  const next = row.enabled ? nextDue(row, tz, now) : null;
  const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());
  return {
    enabled: row.enabled,
    day_of_month: row.day_of_month === 'last' ? 'last' : Number(row.day_of_month),
    hour: row.hour,
    timezone: row.timezone,
    effective_timezone: tz,
    snapshot_previous_month: row.snapshot_previous_month,
    snapshot_all_companies: row.snapshot_all_companies,
    account_numbers: row.account_numbers ?? [],
    last_run_at: iso(row.last_run_at),
    last_run_status: row.last_run_status,
    last_run_count: row.last_run_count,
    last_run_job_id: row.last_run_job_id,
    next_run_at: next ? next.toISOString() : null,
    next_run_period: next ? periodFor(next, tz, row.snapshot_previous_month) : null,
    updated_at: iso(row.updated_at)!,
  };
}

export type DueDecision =
  | { due: false; reason: string }
  | {
      due: true;
      at: Date;
      period: { year: number; month: number };
      accounts: string[] | undefined;
      /** Set when the schedule archives the month it fires in (snapshot_previous_month false): the recorded reason. */
      openPeriodReason: string | undefined;
    };

const CURRENT_MONTH_REASON = 'the schedule archives the current month (snapshot_previous_month is false)';

/**
 * Is a scheduled run due at `now`? Yes when the last due time has passed, it came after the
 * schedule row was created, and no scheduled run (server or timer) has started since it.
 */
export async function dueRun(knex: Knex, serverTz: string, now: Date): Promise<DueDecision> {
  const row = await readSchedule(knex);
  if (!row.enabled) return { due: false, reason: 'the schedule is disabled' };
  const tz = zoneOf(row, serverTz);
  const at = previousDue(row, tz, now);
  if (at.getTime() < new Date(row.created_at).getTime())
    return { due: false, reason: `the last due time (${at.toISOString()}) is older than the schedule itself; next: ${nextDue(row, tz, now).toISOString()}` };
  const ran = await scheduledRunSince(knex, at);
  if (ran) return { due: false, reason: `the run due at ${at.toISOString()} has already started (job ${ran.id}, ${ran.status}); next: ${nextDue(row, tz, now).toISOString()}` };
  if (!row.snapshot_all_companies && (row.account_numbers ?? []).length === 0)
    return { due: false, reason: 'the schedule names no companies (snapshot_all_companies is false and account_numbers is empty)' };
  return {
    due: true,
    at,
    period: periodFor(at, tz, row.snapshot_previous_month),
    accounts: row.snapshot_all_companies ? undefined : row.account_numbers,
    openPeriodReason: row.snapshot_previous_month ? undefined : CURRENT_MONTH_REASON,
  };
}

export interface Timer {
  cancel(): void;
}
export type ArmTimer = (at: Date, fire: () => void) => Timer;

const nodeScheduleTimer: ArmTimer = (at, fire) => {
  const job = schedule.scheduleJob(at, fire);
  return { cancel: () => job?.cancel() };
};

/** The run engine as the schedule sees it (so the schedule does not depend on the engine's module). */
export interface ScheduledRunStarter {
  start(req: { year: number; month: number; accounts?: string[]; dryRun: false; triggeredBy: string; scheduledFor: Date; allowOpenPeriod?: string }): Promise<{ id: string }>;
}

export interface SchedulerDeps {
  knex: Knex;
  /** What the schedule needs of the run engine: starting a scheduled run. */
  engine: ScheduledRunStarter;
  log: Logger;
  timeZone: string;
  now?: () => Date;
  arm?: ArmTimer;
  /** How often the row is re-read to notice changes made with SQL. */
  pollMs?: number;
}

export class Scheduler {
  private timer: Timer | undefined;
  private poller: NodeJS.Timeout | undefined;
  private seen: string | undefined;
  nextAt: Date | null = null;
  readonly now: () => Date;

  constructor(private readonly deps: SchedulerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Arms the timer, and catches up a due time missed while the server was down. */
  async start(): Promise<void> {
    await this.reload();
    await this.fireIfDue('schedule (catch-up at start-up)');
    this.poller = setInterval(() => {
      this.checkForChanges().catch((err) => this.deps.log.warn({ err }, 'could not read the schedule'));
    }, this.deps.pollMs ?? 15_000);
    this.poller.unref();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.poller) clearInterval(this.poller);
  }

  /** Re-reads the row and re-arms the timer (after any change). */
  async reload(): Promise<void> {
    const row = await readSchedule(this.deps.knex);
    this.seen = new Date(row.updated_at).toISOString();
    this.timer?.cancel();
    this.timer = undefined;
    this.nextAt = null;
    if (!row.enabled) {
      this.deps.log.info('schedule disabled');
      return;
    }
    const tz = zoneOf(row, this.deps.timeZone);
    const at = nextDue(row, tz, this.now());
    this.nextAt = at;
    this.timer = (this.deps.arm ?? nodeScheduleTimer)(at, () => {
      // A timer may fire a hair early; the run belongs to the due time it was armed for.
      this.fireIfDue('schedule', at)
        .catch((err) => this.deps.log.error({ err }, 'scheduled run could not start'))
        .finally(() => this.reload().catch((err) => this.deps.log.error({ err }, 'could not re-arm the schedule')));
    });
    this.deps.log.info({ next_run_at: at.toISOString(), timezone: tz }, 'schedule armed');
  }

  async checkForChanges(): Promise<boolean> {
    const stamp = await scheduleStamp(this.deps.knex);
    if (stamp === this.seen) return false;
    this.deps.log.info('schedule changed; re-arming');
    await this.reload();
    return true;
  }

  /** Starts the due run if there is one; returns its job id. */
  async fireIfDue(triggeredBy: string, notBefore?: Date): Promise<string | null> {
    const now = this.now();
    const decision = await dueRun(this.deps.knex, this.deps.timeZone, notBefore && notBefore > now ? notBefore : now);
    if (!decision.due) {
      this.deps.log.debug({ reason: decision.reason }, 'no scheduled run due');
      return null;
    }
    try {
      const job = await this.deps.engine.start({ ...decision.period, accounts: decision.accounts, dryRun: false, triggeredBy, scheduledFor: decision.at, allowOpenPeriod: decision.openPeriodReason });
      this.deps.log.info({ job_id: job.id, period: decision.period, due_at: decision.at.toISOString() }, 'scheduled run started');
      return job.id;
    } catch (err) {
      if (err instanceof ArchiveError && err.code === 'run_in_progress') {
        this.deps.log.info({ period: decision.period }, 'scheduled run already going elsewhere');
        return null;
      }
      throw err;
    }
  }
}
