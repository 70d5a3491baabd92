/**
 * Named tokens with a scope, the one owner of `api_tokens`: `archive tokens create` makes one
 * (shown once, stored as its SHA-256 only), `list` shows them without secrets, `revoke` stamps
 * it. `read` searches, views and exports; `ingest` is Ledger's (post, and read back); `admin`
 * does everything. SERVICE_TOKEN and ADMIN_TOKEN stay as the built-in tokens `service` and
 * `admin`. A request's token is looked up by its hash (cached for a few seconds, so a revoked
 * token stops working within TOKEN_CACHE_MS); `last_used_at` is kept, at most once a minute.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { ArchiveError, validationError } from './errors';

export const TOKEN_SCOPES = ['read', 'ingest', 'admin'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export const TOKEN_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface TokenInfo {
  name: string;
  scope: TokenScope;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

export const hashToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());
const toInfo = (r: Record<string, unknown>): TokenInfo => ({
  name: r.name as string,
  scope: r.scope as TokenScope,
  created_at: iso(r.created_at)!,
  expires_at: iso(r.expires_at),
  revoked_at: iso(r.revoked_at),
  last_used_at: iso(r.last_used_at),
});

/** Makes a named token; resolves with the token itself, which is never stored or shown again. */
export async function createToken(knex: Knex, input: { name: string; scope: string; expiresAt?: Date }, now = new Date()): Promise<{ token: string; info: TokenInfo }> {
  const fields = [];
  if (!TOKEN_NAME.test(input.name)) fields.push({ field: 'name', reason: 'must be 1-63 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit' });
  else if (input.name === 'service' || input.name === 'admin') fields.push({ field: 'name', reason: 'is the name of a built-in token (SERVICE_TOKEN, ADMIN_TOKEN)' });
  if (!(TOKEN_SCOPES as readonly string[]).includes(input.scope)) fields.push({ field: 'scope', reason: 'must be read, ingest or admin' });
  if (input.expiresAt && (Number.isNaN(input.expiresAt.getTime()) || input.expiresAt <= now)) fields.push({ field: 'expires', reason: 'must be a date in the future' });
  if (fields.length) throw validationError(fields, 'token');
  if (await knex('api_tokens').where({ name: input.name }).first()) throw new ArchiveError('already_archived', `A token named ${input.name} exists (or existed): names are never reused`);
  const token = `arc_${randomBytes(32).toString('base64url')}`;
  const [row] = await knex('api_tokens')
    .insert({ name: input.name, scope: input.scope, token_hash: hashToken(token), expires_at: input.expiresAt ?? null })
    .returning(['name', 'scope', 'created_at', 'expires_at', 'revoked_at', 'last_used_at']);
  return { token, info: toInfo(row) };
}

export async function listTokens(knex: Knex): Promise<TokenInfo[]> {
  return (await knex('api_tokens').orderBy('name').select('name', 'scope', 'created_at', 'expires_at', 'revoked_at', 'last_used_at')).map(toInfo);
}

/** Revokes a token (it stays listed, as revoked); refuses one that does not exist or is revoked. */
export async function revokeToken(knex: Knex, name: string): Promise<TokenInfo> {
  const [row] = await knex('api_tokens')
    .where({ name })
    .whereNull('revoked_at')
    .update({ revoked_at: knex.fn.now() })
    .returning(['name', 'scope', 'created_at', 'expires_at', 'revoked_at', 'last_used_at']);
  if (!row) {
    const exists = await knex('api_tokens').where({ name }).first();
    throw new ArchiveError(exists ? 'invalid_state' : 'not_found', exists ? `The token ${name} is already revoked` : `No token named ${name}`);
  }
  return toInfo(row);
}

/** How long a looked-up token is trusted before it is read again (a revocation takes at most this long). */
export const TOKEN_CACHE_MS = 5_000;

/** Finds the named token of a request by its hash: valid (not revoked, not expired) or null. */
export function tokenLookup(knex: Knex, now: () => number = Date.now): (token: string) => Promise<{ name: string; scope: TokenScope } | null> {
  const cache = new Map<string, { at: number; found: { name: string; scope: TokenScope; expires: number | null } | null }>();
  const touched = new Map<string, number>();
  return async (token) => {
    const hash = hashToken(token);
    const key = hash.toString('hex');
    let hit = cache.get(key);
    if (!hit || now() - hit.at > TOKEN_CACHE_MS) {
      const row = (await knex('api_tokens').where({ token_hash: hash }).whereNull('revoked_at').first('name', 'scope', 'expires_at')) as
        { name: string; scope: TokenScope; expires_at: Date | null } | undefined;
      hit = { at: now(), found: row ? { name: row.name, scope: row.scope, expires: row.expires_at ? new Date(row.expires_at).getTime() : null } : null };
      if (cache.size > 10_000) cache.clear();
      cache.set(key, hit);
    }
    const found = hit.found;
    if (!found || (found.expires !== null && found.expires <= now())) return null;
    if (now() - (touched.get(found.name) ?? 0) > 60_000) {
      touched.set(found.name, now());
      void knex('api_tokens')
        .where({ name: found.name })
        .update({ last_used_at: knex.fn.now() })
        .catch(() => undefined);
    }
    return { name: found.name, scope: found.scope };
  };
}
