/** The schedule and the record of runs (admin token): `/api/scheduler/*`. */
import bodyParser from 'koa-bodyparser';
import { isTimeZone } from '../../shared/api';
import { JobItemsQuery, JobsQuery, SchedulerConfigUpdate } from '../../shared/runs';
import type { AppDeps } from '../app';
import { parseOrThrow, validationError } from '../errors';
import { singleValued } from '../http/query';
import { getJobRow, listItems, listJobs, toJob } from '../runs/jobs';
import { readSchedule, scheduleView } from '../schedule/schedule';
import { get, post, type Route } from './table';

export function schedulerRoutes(deps: AppDeps): Route[] {
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '1mb', strict: true });

  return [
    get('/api/scheduler/config', 'admin', async (ctx) => {
      ctx.body = scheduleView(await readSchedule(deps.knex), deps.timeZone, deps.scheduler?.now());
    }),

    post('/api/scheduler/config', 'admin', json, async (ctx) => {
      const update = parseOrThrow(SchedulerConfigUpdate, ctx.request.body, 'scheduler configuration');
      if (update.timezone && !isTimeZone(update.timezone)) throw validationError([{ field: 'timezone', reason: 'must be an IANA time zone such as Europe/Berlin' }], 'scheduler configuration');
      const current = await readSchedule(deps.knex);
      const allCompanies = update.snapshot_all_companies ?? current.snapshot_all_companies;
      const accounts = update.account_numbers ?? current.account_numbers ?? [];
      if (!allCompanies && accounts.length === 0) {
        throw validationError([{ field: 'account_numbers', reason: 'must list at least one account when snapshot_all_companies is false' }], 'scheduler configuration');
      }
      const { account_numbers, day_of_month, ...rest } = update;
      const changes: Record<string, unknown> = { ...rest };
      if (day_of_month !== undefined) changes.day_of_month = String(day_of_month);
      if (account_numbers !== undefined) changes.account_numbers = JSON.stringify([...new Set(account_numbers)]);
      if (Object.keys(changes).length > 0) await deps.knex('scheduled_snapshots').where({ id: 1 }).update(changes);
      await deps.scheduler?.reload();
      ctx.body = scheduleView(await readSchedule(deps.knex), deps.timeZone, deps.scheduler?.now());
    }),

    get('/api/scheduler/jobs', 'admin', async (ctx) => {
      ctx.body = await listJobs(deps.knex, parseOrThrow(JobsQuery, singleValued(ctx.query), 'query'));
    }),

    get('/api/scheduler/jobs/:id', 'admin', async (ctx) => {
      const q = parseOrThrow(JobItemsQuery, singleValued(ctx.query), 'query');
      const row = await getJobRow(deps.knex, ctx.params.id);
      ctx.body = { ...toJob(row), items: await listItems(deps.knex, row.id, q) };
    }),
  ];
}
