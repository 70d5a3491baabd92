/** The schedule and the record of runs (admin token): `/api/scheduler/*`. */
import bodyParser from 'koa-bodyparser';
import { JobItemsQuery, JobsQuery, SchedulerConfigUpdate } from '../../shared/runs';
import type { AppDeps } from '../deps';
import { parseOrThrow } from '../errors';
import { singleValued } from '../http/query';
import { listItems, billedOf } from '../runs/job-items';
import { getJobRow, listJobs } from '../runs/job-store';
import { toJob } from '../runs/jobs';
import { readSchedule, scheduleView, updateSchedule } from '../schedule/schedule';
import { get, post, type Route } from './table';
import { auditContext } from './audit';

export function schedulerRoutes(deps: AppDeps): Route[] {
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '1mb', strict: true });

  return [
    get('/api/scheduler/config', 'admin', async (ctx) => {
      ctx.body = scheduleView(await readSchedule(deps.knex), deps.timeZone, deps.scheduler?.now());
    }),

    post('/api/scheduler/config', 'admin', json, async (ctx) => {
      const row = await updateSchedule(deps.knex, parseOrThrow(SchedulerConfigUpdate, ctx.request.body, 'scheduler configuration'), auditContext(ctx));
      await deps.scheduler?.reload();
      ctx.body = scheduleView(row, deps.timeZone, deps.scheduler?.now());
    }),

    get('/api/scheduler/jobs', 'admin', async (ctx) => {
      ctx.body = await listJobs(deps.knex, parseOrThrow(JobsQuery, singleValued(ctx.query), 'query'));
    }),

    get('/api/scheduler/jobs/:id', 'admin', async (ctx) => {
      const q = parseOrThrow(JobItemsQuery, singleValued(ctx.query), 'query');
      const row = await getJobRow(deps.knex, ctx.params.id);
      const [items, billed] = await Promise.all([listItems(deps.knex, row.id, q), billedOf(deps.knex, row.id)]);
      ctx.body = { ...toJob(row), items, billed };
    }),
  ];
}
