/** `GET /health`: no auth; 200 when the database answers, 503 "degraded" when it does not. */
import type { AppDeps } from '../app';
import { get, type Route } from './table';

export function healthRoutes(deps: AppDeps): Route[] {
  return [
    get('/health', 'public', async (ctx) => {
      let database = 'ok';
      try {
        await withTimeout(deps.knex.raw('SELECT 1'), 2000);
      } catch {
        database = 'unavailable';
      }
      ctx.status = database === 'ok' ? 200 : 503;
      ctx.body = { status: database === 'ok' ? 'ok' : 'degraded', service: 'archive', database, version: deps.version };
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
