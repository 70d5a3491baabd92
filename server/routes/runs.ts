/**
 * Starting, cancelling and resuming runs, and watching one live (admin token).
 * `GET /api/runs/:id/events` is a server-sent event stream: a `job` event with the current
 * state, an `item` event per company done, `job` events with counters while another server
 * runs it, and an `end` event with the final job; then the stream closes.
 */
import { PassThrough } from 'node:stream';
import bodyParser from 'koa-bodyparser';
import { AccountCheckRequest, RunRequest, type RunEvent } from '../../shared/runs';
import type { AppDeps } from '../deps';
import { ArchiveError, parseOrThrow } from '../errors';
import { getJobRow } from '../runs/job-store';
import { toJob } from '../runs/jobs';
import { get, post, type Route } from './table';
import { recordAudit } from '../audit/trail';
import { auditContext } from './audit';
import { periodText } from '../../shared/period';

export function runRoutes(deps: AppDeps): Route[] {
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '1mb', strict: true });
  const engine = () => {
    if (!deps.engine) throw new ArchiveError('dependency_unavailable', 'Runs are not available on this server');
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
        triggeredBy: `api:${ctx.state.actor.name}`,
      });
      await recordAudit(deps.knex, {
        ...auditContext(ctx),
        action: 'run.started',
        subject: job.id,
        period: periodText(req.year, req.month),
        details: { dry_run: req.dry_run, accounts: req.accounts?.length ?? null, all: !req.accounts, ...(req.allow_open_period ? { open_period_reason: req.reason } : {}) },
      });
      ctx.status = 202;
      ctx.set('Location', `/api/scheduler/jobs/${job.id}`);
      ctx.body = { job_id: job.id, status: job.status, dry_run: job.dry_run, events: `/api/runs/${job.id}/events` };
    }),

    // Which accounts of a list Codex knows: the desktop flags the others before saving a schedule.
    post('/api/companies/check', 'admin', json, async (ctx) => {
      const { accounts } = parseOrThrow(AccountCheckRequest, ctx.request.body, 'account check');
      ctx.body = await engine().checkAccounts(accounts);
    }),

    post('/api/runs/:id/cancel', 'admin', async (ctx) => {
      const job = toJob(await engine().cancel(ctx.params.id));
      await recordAudit(deps.knex, { ...auditContext(ctx), action: 'run.cancelled', subject: job.id, period: periodText(job.target_year, job.target_month) });
      ctx.status = 202;
      ctx.body = job;
    }),

    post('/api/runs/:id/resume', 'admin', async (ctx) => {
      const job = await engine().resume(ctx.params.id, `api:${ctx.state.actor.name}`);
      await recordAudit(deps.knex, { ...auditContext(ctx), action: 'run.resumed', subject: job.id, period: periodText(job.target_year, job.target_month) });
      ctx.status = 202;
      ctx.body = { job_id: job.id, status: job.status, events: `/api/runs/${job.id}/events` };
    }),

    get('/api/runs/:id/events', 'admin', async (ctx) => {
      const row = await getJobRow(deps.knex, ctx.params.id);
      const stream = new PassThrough();
      let closed = false;
      let stop = () => {};
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(keepAlive);
        stop();
        stream.end();
      };
      const send = (event: RunEvent) => {
        if (closed) return;
        stream.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
        if (event.type === 'end') close();
      };
      // Refused (503) past the cap, before anything of the stream is sent.
      const pending: RunEvent[] = [];
      stop = deps.watch.follow(row, (e) => (ctx.body === stream ? send(e) : pending.push(e)));
      const keepAlive = setInterval(() => stream.write(': keep-alive\n\n'), 15_000);
      ctx.req.on('close', close);
      ctx.req.socket.setTimeout(0);
      ctx.req.socket.setNoDelay(true);
      ctx.status = 200;
      ctx.set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
      ctx.body = stream;
      for (const e of pending) send(e);
    }),
  ];
}
