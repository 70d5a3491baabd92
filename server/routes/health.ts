/**
 * `GET /health`: no auth; 200 when the database answers and takes writes, 503 "degraded"
 * (database `unavailable` or `read_only`) otherwise. `GET /api/about`: the settings a client
 * shows beside the bills. `GET /metrics` (admin, or without a token on METRICS_BIND): Prometheus.
 */
import type { About } from '../../shared/api';
import type { AppDeps } from '../deps';
import type { Actor } from '../http/auth';
import { get, type Route } from './table';
import { ArchiveError } from '../errors';

export function healthRoutes(deps: AppDeps): Route[] {
  return [
    get('/health', 'public', async (ctx) => {
      let database: 'ok' | 'read_only' | 'unavailable' = 'ok';
      try {
        // A read-only database answers, but takes no bill: that is not "ok".
        const r = await withTimeout(deps.knex.raw(`SELECT current_setting('transaction_read_only') AS read_only`), 2000);
        if ((r as { rows: { read_only: string }[] }).rows[0]?.read_only === 'on') database = 'read_only';
      } catch {
        database = 'unavailable';
      }
      // The replica, when there is one: reads fall back to the primary without it, so it does not make the service degraded.
      let replica: 'ok' | 'unavailable' | undefined;
      if (deps.replica)
        replica = await withTimeout(deps.replica.raw('SELECT 1'), 2000).then(
          () => 'ok' as const,
          () => 'unavailable' as const,
        );
      ctx.status = database === 'ok' ? 200 : 503;
      ctx.body = { status: database === 'ok' ? 'ok' : 'degraded', service: 'archive', database, ...(replica ? { replica } : {}), version: deps.version };
    }),
    get('/metrics', 'admin', async (ctx) => {
      if (!deps.metrics) throw new ArchiveError('not_found', 'This server keeps no metrics');
      ctx.body = await deps.metrics.render();
      ctx.type = deps.metrics.contentType;
    }),
    get('/api/about', 'read', (ctx) => {
      const actor = ctx.state.actor as Actor;
      ctx.body = { service: 'archive', version: deps.version, currency: deps.currency, time_zone: deps.timeZone, token: { name: actor.name, scopes: [...actor.scopes] } } satisfies About;
    }),
  ];
}

function withTimeout<T>(p: PromiseLike<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    Promise.resolve(p).then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}
