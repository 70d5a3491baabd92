/**
 * Bearer tokens. SERVICE_TOKEN (Ledger) may post and read bills; ADMIN_TOKEN may do
 * everything. Tokens are compared in constant time and never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import { ArchiveError } from '../errors';

export type Role = 'service' | 'admin';
export type Scope = 'ingest' | 'read' | 'admin';

const SCOPES: Record<Role, ReadonlySet<Scope>> = {
  service: new Set(['ingest', 'read']),
  admin: new Set(['ingest', 'read', 'admin']),
};

export interface Tokens {
  serviceToken: string;
  adminToken: string;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Hashing first gives equal-length buffers, so the comparison leaks neither content nor length. */
function sameToken(given: Buffer, expected: Buffer): boolean {
  return timingSafeEqual(given, expected);
}

export function authenticator(tokens: Tokens) {
  const service = digest(tokens.serviceToken);
  const admin = digest(tokens.adminToken);
  return (authorization: string | undefined): Role | undefined => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return undefined;
    const given = digest(m[1]);
    // Both comparisons always run: the time taken does not tell which token matched.
    const isAdmin = sameToken(given, admin);
    const isService = sameToken(given, service);
    return isAdmin ? 'admin' : isService ? 'service' : undefined;
  };
}

/** Route guard: 401 without a valid token, 403 when the token lacks the scope. */
export function requireScope(scope: Scope): Koa.Middleware {
  return async (ctx, next) => {
    const role = ctx.state.role as Role | undefined;
    if (!role) {
      const header = ctx.get('authorization');
      throw new ArchiveError('unauthorized', header ? 'The bearer token is not valid for this server' : 'Authentication required: send Authorization: Bearer <token>');
    }
    if (!SCOPES[role].has(scope)) {
      throw new ArchiveError('forbidden', `The ${role} token may not do this; it needs the ${scope} permission (use the admin token)`, { required: scope, role });
    }
    await next();
  };
}
