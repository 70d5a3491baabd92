/**
 * Starting, cancelling and resuming runs, and watching one live (admin token).
 * `GET /api/runs/:id/events` is a server-sent event stream: a `job` event with the current
 * state, an `item` event per company done, `job` events with counters while another server
 * runs it, and an `end` event with the final job; then the stream closes.
 */
import { PassThrough } from 'node:stream';
import bodyParser from 'koa-bodyparser';
import { FINISHED_STATUSES, RunRequest, type RunEvent } from '../../shared/runs';
import type { AppDeps } from '../app';
import { ApiError, parseOrThrow } from '../http/errors';
import { getJobRow, toJob } from '../runs/jobs';
import { get, post, type Route } from './table';

export function runRoutes(deps: AppDeps): Route[] {
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '1mb', strict: true });
  const engine = () => {
    if (!deps.engine) throw new ApiError('dependency_unavailable', 'Runs are not available on this server');
    return deps.engine;
  };

  return [
    post('/api/runs', 'admin', json, async (ctx) => {
      const req = parseOrThrow(RunRequest, ctx.request.body, 'run');
      const job = await engine().start({
        year: req.year,
        month: req.month,
        accounts: req.accounts ? [...new Set(req.accounts)] : undefined,
        dryRun: req.dry_run,
        concurrency: req.concurrency,
        allowOpenPeriod: req.allow_open_period ? req.reason : undefined,
        triggeredBy: `api:${ctx.state.role}`,
      });
      ctx.status = 202;
      ctx.set('Location', `/api/scheduler/jobs/${job.id}`);
      ctx.body = { job_id: job.id, status: job.status, dry_run: job.dry_run, events: `/api/runs/${job.id}/events` };
    }),

    post('/api/runs/:id/cancel', 'admin', async (ctx) => {
      ctx.status = 202;
      ctx.body = toJob(await engine().cancel(ctx.params.id));
    }),

    post('/api/runs/:id/resume', 'admin', async (ctx) => {
      const job = await engine().resume(ctx.params.id, `api:${ctx.state.role}`);
      ctx.status = 202;
      ctx.body = { job_id: job.id, status: job.status, events: `/api/runs/${job.id}/events` };
    }),

    get('/api/runs/:id/events', 'admin', async (ctx) => {
      const row = await getJobRow(deps.knex, ctx.params.id);
      const stream = new PassThrough();
      ctx.req.socket.setTimeout(0);
      ctx.req.socket.setNoDelay(true);
      ctx.status = 200;
      ctx.set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
      ctx.body = stream;

      let closed = false;
      const send = (event: RunEvent) => {
        if (closed) return;
        stream.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
        if (event.type === 'end') close();
      };
      const listener = (e: RunEvent) => send(e);
      const channel = `job:${row.id}`;
      const keepAlive = setInterval(() => stream.write(': keep-alive\n\n'), 15_000);
      let poller: NodeJS.Timeout | undefined;
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(keepAlive);
        if (poller) clearInterval(poller);
        deps.engine?.events.off(channel, listener);
        stream.end();
      };
      ctx.req.on('close', close);

      if (FINISHED_STATUSES.includes(row.status)) {
        send({ type: 'end', job: toJob(row) });
        return;
      }
      deps.engine?.events.on(channel, listener);
      send({ type: 'job', job: toJob(row) });
      if (!deps.engine?.isActive(row.id)) {
        // Run by another server (or the CLI): follow the job row.
        let last = '';
        poller = setInterval(async () => {
          try {
            const now = await getJobRow(deps.knex, row.id);
            const job = toJob(now);
            if (FINISHED_STATUSES.includes(now.status)) return send({ type: 'end', job });
            const stamp = JSON.stringify(job.counts) + job.status;
            if (stamp !== last) send({ type: 'job', job });
            last = stamp;
          } catch {
            /* the next tick tries again */
          }
        }, 1000);
      }
    }),
  ];
}
