/**
 * Builds the Koa app: request id, request log, error mapping, authentication, routes.
 * No listening and no process concerns here (see main.ts), so tests mount it directly.
 */
import { randomUUID } from 'node:crypto';
import Koa from 'koa';
import type { Knex } from 'knex';
import { authenticator, type Tokens } from './http/auth';
import { errorMiddleware } from './http/errors';
import type { Logger } from './log';
import { healthRoutes } from './routes/health';
import { runRoutes } from './routes/runs';
import { schedulerRoutes } from './routes/scheduler';
import type { RunEngine } from './runs/engine';
import type { Scheduler } from './schedule/schedule';
import { searchRoutes } from './routes/search';
import { snapshotRoutes } from './routes/snapshots';

export interface AppDeps {
  knex: Knex;
  tokens: Tokens;
  log: Logger;
  totalsTolerance: string;
  bodyLimit: string;
  timeZone: string;
  version: string;
  engine?: RunEngine;
  scheduler?: Scheduler;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = true;
  const authenticate = authenticator(deps.tokens);

  app.use(async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = deps.log.child({ req_id: requestId });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      ctx.state.log.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10, role: ctx.state.role ?? null }, 'request');
    }
  });
  app.use(errorMiddleware());
  app.use(async (ctx, next) => {
    ctx.state.role = authenticate(ctx.get('authorization') || undefined);
    await next();
  });

  for (const router of [healthRoutes(deps), snapshotRoutes(deps), searchRoutes(deps), schedulerRoutes(deps), runRoutes(deps)]) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: false }));
  }
  // Errors are answered by the middleware above; keep Koa's default printer quiet.
  app.silent = true;
  return app;
}
