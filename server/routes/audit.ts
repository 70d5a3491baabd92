/** The audit trail: who did what (admin), and the request's side of an entry (actor, request id, client). */
import type Koa from 'koa';
import { AuditQuery } from '../../shared/api';
import { listAudit, type AuditContext } from '../audit/trail';
import type { AppDeps } from '../deps';
import { parseOrThrow } from '../errors';
import type { Actor } from '../http/auth';
import { singleValued } from '../http/query';
import { get, type Route } from './table';

/** Who is asking, for the entry a route records. */
export function auditContext(ctx: Koa.Context): AuditContext {
  return { actor: (ctx.state.actor as Actor | undefined)?.name ?? 'unknown', requestId: ctx.state.requestId ?? null, client: ctx.ip || null };
}

export function auditRoutes(deps: AppDeps): Route[] {
  return [
    get('/api/audit', 'admin', async (ctx) => {
      ctx.body = await listAudit(deps.knex, parseOrThrow(AuditQuery, singleValued(ctx.query), 'audit query'));
    }),
  ];
}
