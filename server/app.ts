/**
 * Builds the Koa app: request id, request log, error mapping, authentication, routes.
 * No listening and no process concerns here (see main.ts), so tests mount it directly.
 */
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import Koa from 'koa';
import type { AppDeps } from './deps';
import { tokenLookup } from './api-tokens';
import { authenticator, requireScope } from './http/auth';
import { errorMiddleware } from './http/errors';
import { healthRoutes } from './routes/health';
import { runRoutes } from './routes/runs';
import { schedulerRoutes } from './routes/scheduler';
import { searchRoutes } from './routes/search';
import { snapshotRoutes } from './routes/snapshots';
import { integrityRoutes } from './routes/integrity';
import { auditRoutes } from './routes/audit';
import type { Route } from './routes/table';

/** Every route the server answers, each with the scope it needs (the route-table test walks it). */
export function routeTable(deps: AppDeps): Route[] {
  return [...healthRoutes(deps), ...snapshotRoutes(deps), ...searchRoutes(deps), ...schedulerRoutes(deps), ...runRoutes(deps), ...integrityRoutes(deps), ...auditRoutes(deps)];
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  // X-Forwarded-* is believed only from the proxies the operator says are there (TRUST_PROXY).
  app.proxy = (deps.trustProxy ?? 0) > 0;
  app.maxIpsCount = deps.trustProxy ?? 0;
  const authenticate = authenticator(deps.tokens, tokenLookup(deps.knex));

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
      // By the route as declared (`/api/snapshot/:invoice_number`), never the path itself: bounded labels.
      deps.metrics?.observeRequest((ctx as { _matchedRoute?: string })._matchedRoute ?? '(unmatched)', ctx.method, ctx.status, ms / 1000);
      ctx.state.log.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10, token: ctx.state.actor?.name ?? null }, 'request');
    }
  });
  app.use(errorMiddleware());
  app.use(async (ctx, next) => {
    // A named token is checked in the database: when that fails, only routes that need a token fail (503), /health still answers.
    ctx.state.actor = await authenticate(ctx.get('authorization') || undefined).catch((err: unknown) => {
      ctx.state.authError = err;
      return undefined;
    });
    await next();
  });

  // One router over the one route table: paths match exactly as declared (letter case,
  // slashes, no percent-decoding), so a path either is a declared route, with its guard, or 404.
  const router = new Router({ sensitive: true, strict: true });
  for (const route of routeTable(deps)) {
    const guard = route.access === 'public' ? [] : [requireScope(route.access)];
    router.register(route.path, [route.method], [...guard, ...route.handle]);
  }
  app.use(router.routes());
  // 405 and 501 come back without a body and become JSON errors in errorMiddleware.
  app.use(router.allowedMethods({ throw: false }));
  // Errors are answered by the middleware above; keep Koa's default printer quiet.
  app.silent = true;
  return app;
}
