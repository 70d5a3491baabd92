/**
 * The schedule: due times (day, `last`, hour, time zone), the configuration API, firing at
 * the configured time on a fake clock, re-arming after changes through the API and through
 * plain SQL, and the catch-up at start-up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/log';
import { startServer } from '../../server/main';
import { nextDue, periodFor, previousDue, type ArmTimer } from '../../server/schedule/schedule';
import type { Job, SchedulerConfig } from '../../shared/runs';
import { startRunWorld, until, type RunWorld } from '../helpers/runs';
import { testConfig } from '../helpers/server';

const at = (s: string) => new Date(s);

describe('due times', () => {
  it('day and hour in UTC', () => {
    expect(nextDue({ day_of_month: '1', hour: 2 }, 'UTC', at('2026-11-28T15:00:00Z')).toISOString()).toBe('2026-12-01T02:00:00.000Z');
    expect(nextDue({ day_of_month: '1', hour: 2 }, 'UTC', at('2026-12-01T02:00:00Z')).toISOString()).toBe('2027-01-01T02:00:00.000Z');
    expect(nextDue({ day_of_month: '28', hour: 23 }, 'UTC', at('2026-11-28T22:59:59Z')).toISOString()).toBe('2026-11-28T23:00:00.000Z');
    expect(previousDue({ day_of_month: '1', hour: 2 }, 'UTC', at('2026-12-01T02:00:00Z')).toISOString()).toBe('2026-12-01T02:00:00.000Z');
    expect(previousDue({ day_of_month: '1', hour: 2 }, 'UTC', at('2026-12-01T01:59:59Z')).toISOString()).toBe('2026-11-01T02:00:00.000Z');
  });

  it('`last` is the last day of each month, leap years included', () => {
    const last = { day_of_month: 'last', hour: 6 };
    expect(nextDue(last, 'UTC', at('2026-11-28T00:00:00Z')).toISOString()).toBe('2026-11-30T06:00:00.000Z');
    expect(nextDue(last, 'UTC', at('2027-02-01T00:00:00Z')).toISOString()).toBe('2027-02-28T06:00:00.000Z');
    expect(nextDue(last, 'UTC', at('2028-02-01T00:00:00Z')).toISOString()).toBe('2028-02-29T06:00:00.000Z');
    expect(nextDue(last, 'UTC', at('2026-12-31T06:00:00Z')).toISOString()).toBe('2027-01-31T06:00:00.000Z');
  });

  it('reads the hour in the configured time zone, across daylight saving', () => {
    expect(nextDue({ day_of_month: '1', hour: 2 }, 'Europe/Berlin', at('2026-11-28T00:00:00Z')).toISOString()).toBe('2026-12-01T01:00:00.000Z');
    expect(nextDue({ day_of_month: '1', hour: 2 }, 'Europe/Berlin', at('2027-06-15T00:00:00Z')).toISOString()).toBe('2027-07-01T00:00:00.000Z');
    expect(nextDue({ day_of_month: '15', hour: 9 }, 'America/New_York', at('2027-03-01T00:00:00Z')).toISOString()).toBe('2027-03-15T13:00:00.000Z');
    expect(nextDue({ day_of_month: '15', hour: 9 }, 'America/New_York', at('2027-01-01T00:00:00Z')).toISOString()).toBe('2027-01-15T14:00:00.000Z');
  });

  it('archives the month that just ended, or the current one', () => {
    expect(periodFor(at('2027-01-01T02:00:00Z'), 'UTC', true)).toEqual({ year: 2026, month: 12 });
    expect(periodFor(at('2027-01-01T02:00:00Z'), 'UTC', false)).toEqual({ year: 2027, month: 1 });
    // 00:30 on the 1st in Berlin is still the 31st in UTC: the zone decides the month.
    expect(periodFor(at('2026-12-31T23:30:00Z'), 'Europe/Berlin', true)).toEqual({ year: 2026, month: 12 });
  });
});

describe('the schedule in a running server (fake clock)', () => {
  let w: RunWorld;
  let now = at('2026-12-15T10:00:00Z');
  const armed: { at: Date; fire: () => void; cancelled: boolean }[] = [];
  const arm: ArmTimer = (when, fire) => {
    const t = { at: when, fire, cancelled: false };
    armed.push(t);
    return { cancel: () => (t.cancelled = true) };
  };
  const current = () => armed.filter((t) => !t.cancelled);

  beforeAll(async () => {
    w = await startRunWorld({ companies: 6 }, { SCHEDULER: 'on' }, { schedulerClock: { now: () => now, arm, pollMs: 60_000 } });
  });
  afterAll(() => w.stop());

  const config = async () => (await (await w.admin('/api/scheduler/config')).json()) as SchedulerConfig;
  const post = (json: unknown) => w.admin('/api/scheduler/config', { method: 'POST', json });

  it('serves the default configuration with the next run', async () => {
    const c = await config();
    expect(c).toMatchObject({
      enabled: true,
      day_of_month: 1,
      hour: 2,
      timezone: null,
      effective_timezone: 'UTC',
      snapshot_previous_month: true,
      snapshot_all_companies: true,
      account_numbers: [],
      last_run_at: null,
      last_run_status: null,
    });
    expect(c.next_run_at).toBe('2027-01-01T02:00:00.000Z');
    expect(c.next_run_period).toEqual({ year: 2026, month: 12 });
    expect(current().map((t) => t.at.toISOString())).toEqual(['2027-01-01T02:00:00.000Z']);
  });

  it('refuses bad configuration naming each field, and changes nothing', async () => {
    for (const [body, field] of [
      [{ day_of_month: 29 }, 'day_of_month'],
      [{ day_of_month: 'first' }, 'day_of_month'],
      [{ hour: 24 }, 'hour'],
      [{ enabled: 'yes' }, 'enabled'],
      [{ colour: 'red' }, 'colour'],
      [{ timezone: 'Mars/Olympus' }, 'timezone'],
      [{ snapshot_all_companies: false, account_numbers: [] }, 'account_numbers'],
      [{ account_numbers: ['12a'] }, 'account_numbers[0]'],
    ] as const) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = (await res.json()) as { code: string; details: { fields: { field: string }[] } };
      expect(err.details.fields.map((f) => f.field)).toContain(field);
    }
    expect((await config()).hour).toBe(2);
    expect((await w.server.api('/api/scheduler/config')).status).toBe(403);
  });

  it('re-arms at once after a change through the API', async () => {
    const res = await post({ enabled: true, day_of_month: 'last', hour: 23, snapshot_previous_month: false, snapshot_all_companies: true });
    expect(res.status).toBe(200);
    const c = (await res.json()) as SchedulerConfig;
    expect(c).toMatchObject({ day_of_month: 'last', hour: 23, next_run_at: '2026-12-31T23:00:00.000Z', next_run_period: { year: 2026, month: 12 } });
    expect(current().map((t) => t.at.toISOString())).toEqual(['2026-12-31T23:00:00.000Z']);
    // The guide's body works as written (day as a number).
    expect((await post({ enabled: true, day_of_month: 1, hour: 2, snapshot_previous_month: true, snapshot_all_companies: true })).status).toBe(200);
    expect(current().map((t) => t.at.toISOString())).toEqual(['2027-01-01T02:00:00.000Z']);
  });

  it('notices a change made with plain SQL, as the guide documents', async () => {
    await w.server.db.knex.raw(`UPDATE scheduled_snapshots SET day_of_month = '5', hour = 7, enabled = true WHERE id = 1`);
    expect(await w.server.scheduler!.checkForChanges()).toBe(true);
    expect(current().map((t) => t.at.toISOString())).toEqual(['2027-01-05T07:00:00.000Z']);
    expect(await w.server.scheduler!.checkForChanges()).toBe(false);
    await w.server.db.knex.raw(`UPDATE scheduled_snapshots SET enabled = false WHERE id = 1`);
    await w.server.scheduler!.checkForChanges();
    expect(current()).toEqual([]);
    expect((await config()).next_run_at).toBeNull();
  });

  it('fires at the configured day and hour, archives the previous month once, and keeps last_run true', async () => {
    await post({ enabled: true, day_of_month: 1, hour: 2, snapshot_previous_month: true, snapshot_all_companies: false, account_numbers: ['610131', '610262'] });
    const timer = current()[0];
    expect(timer.at.toISOString()).toBe('2027-01-01T02:00:00.000Z');
    now = timer.at;
    timer.fire();
    const job = await waitForJob(w, (j) => j.triggered_by === 'schedule');
    const end = await w.waitForEnd(job.id);
    expect(end).toMatchObject({ status: 'completed', target_year: 2026, target_month: 12, target_account_numbers: ['610131', '610262'] });
    expect(end.counts.archived).toBe(2);
    await until(async () => (await config()).last_run_job_id === job.id);
    const c = await config();
    expect(c).toMatchObject({ last_run_status: 'success', last_run_count: 2, last_run_job_id: job.id });
    expect(c.last_run_at).toBe(end.started_at);
    // Re-armed for the next month; firing the same due time again starts nothing.
    expect(current().at(-1)!.at.toISOString()).toBe('2027-02-01T02:00:00.000Z');
    expect(await w.server.scheduler!.fireIfDue('schedule')).toBeNull();
    const jobs = (await (await w.admin('/api/scheduler/jobs')).json()) as { jobs: Job[] };
    expect(jobs.jobs.filter((j) => j.triggered_by === 'schedule')).toHaveLength(1);
  });
});

describe('catch-up at start-up', () => {
  it('runs a due time missed while the server was down, once', async () => {
    const w = await startRunWorld({ companies: 3 });
    try {
      await w.server.db
        .knex('scheduled_snapshots')
        .where({ id: 1 })
        .update({ created_at: at('2026-01-01T00:00:00Z') });
      const clock = { now: () => at('2027-03-01T05:00:00Z'), arm: () => ({ cancel() {} }), pollMs: 60_000 };
      const config = testConfig({ DATABASE_URL: w.server.database.url, CODEX_URL: w.sim.codexUrl, LEDGER_URL: w.sim.ledgerUrl, SCHEDULER: 'on' });
      const first = await startServer(config, { log: createLogger('silent'), quiet: true, schedulerClock: clock });
      const job = await waitForJob(w, (j) => j.triggered_by === 'schedule (catch-up at start-up)');
      expect(job).toMatchObject({ target_year: 2027, target_month: 2 });
      await first.engine.wait(job.id);
      await first.close();
      const second = await startServer(config, { log: createLogger('silent'), quiet: true, schedulerClock: clock });
      await second.close();
      const jobs = await w.server.db.knex('snapshot_jobs').count({ n: '*' });
      expect(Number(jobs[0].n)).toBe(1);
    } finally {
      await w.stop();
    }
  });
});

async function waitForJob(w: RunWorld, pred: (j: Job) => boolean): Promise<Job> {
  let found: Job | undefined;
  await until(async () => {
    const { jobs } = (await (await w.admin('/api/scheduler/jobs')).json()) as { jobs: Job[] };
    found = jobs.find(pred);
    return Boolean(found);
  });
  return found!;
}
