/**
 * Bearer tokens. SERVICE_TOKEN (Ledger) may post and read bills; ADMIN_TOKEN may do
 * everything; named tokens (`archive tokens create`) have one scope each. The built-in ones are
 * compared in constant time, named ones found by their hash; no token is ever logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import { ArchiveError } from '../errors';

export type Scope = 'ingest' | 'read' | 'admin';

/** Who made a request: the token's name, and what it may do. */
export interface Actor {
  name: string;
  scopes: ReadonlySet<Scope>;
}

/** What each kind of token may do: `read` reads, `ingest` (Ledger) posts and reads back, `admin` everything. */
const SCOPES: Record<'read' | 'ingest' | 'admin', ReadonlySet<Scope>> = {
  read: new Set(['read']),
  ingest: new Set(['ingest', 'read']),
  admin: new Set(['ingest', 'read', 'admin']),
};

export interface Tokens {
  serviceToken: string;
  adminToken: string;
}

/** Finds a named token (server/api-tokens.ts), or null. */
export type TokenLookup = (token: string) => Promise<{ name: string; scope: 'read' | 'ingest' | 'admin' } | null>;

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Hashing first gives equal-length buffers, so the comparison leaks neither content nor length. */
function sameToken(given: Buffer, expected: Buffer): boolean {
  return timingSafeEqual(given, expected);
}

/** The built-in tokens (`service`, `admin`, compared in constant time), then the named ones. */
export function authenticator(tokens: Tokens, lookup?: TokenLookup) {
  const service = digest(tokens.serviceToken);
  const admin = digest(tokens.adminToken);
  return async (authorization: string | undefined): Promise<Actor | undefined> => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return undefined;
    const given = digest(m[1]);
    // Both comparisons always run: the time taken does not tell which token matched.
    const isAdmin = sameToken(given, admin);
    const isService = sameToken(given, service);
    if (isAdmin) return { name: 'admin', scopes: SCOPES.admin };
    if (isService) return { name: 'service', scopes: SCOPES.ingest };
    const named = lookup ? await lookup(m[1]) : null;
    return named ? { name: named.name, scopes: SCOPES[named.scope] } : undefined;
  };
}

/** Route guard: 401 without a valid token, 403 when the token lacks the scope. */
export function requireScope(scope: Scope): Koa.Middleware {
  return async (ctx, next) => {
    const actor = ctx.state.actor as Actor | undefined;
    if (!actor && ctx.state.authError) throw ctx.state.authError;
    if (!actor) {
      const header = ctx.get('authorization');
      throw new ArchiveError('unauthorized', header ? 'The bearer token is not valid for this server (unknown, revoked or expired)' : 'Authentication required: send Authorization: Bearer <token>');
    }
    if (!actor.scopes.has(scope)) {
      throw new ArchiveError('forbidden', `The ${actor.name} token may not do this; it needs the ${scope} permission`, { required: scope, token: actor.name });
    }
    await next();
  };
}
