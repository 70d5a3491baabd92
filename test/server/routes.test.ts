/**
 * The route table, walked whole: every route the app serves answers 401 without a token or
 * with a wrong one, 403 to the service token where it needs admin, and nothing under a path
 * that differs from the declared one only by letter case, a trailing or doubled slash or a
 * percent-encoded letter. Unknown methods get JSON errors.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, revokeToken } from '../../server/api-tokens';
import { routeTable } from '../../server/app';
import type { Route } from '../../server/routes/table';
import { ADMIN_TOKEN, SERVICE_TOKEN, startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
let routes: Route[];
beforeAll(async () => {
  server = await startTestServer();
  routes = routeTable({} as never);
});
afterAll(async () => {
  await server?.stop();
});

const SAMPLE: Record<string, string> = { invoice_number: '620547-202601', account_number: '620547', id: '00000000-0000-4000-8000-000000000000', size: '0' };
const concrete = (path: string) => path.replace(/:(\w+)/g, (_, name: string) => SAMPLE[name] ?? 'x');

/** Raw requests: the path goes on the wire exactly as written (no URL normalisation). */
function raw(method: string, path: string, token: string | null, body?: string): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(server.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    const head = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
    if (token !== null) head.push(`Authorization: Bearer ${token}`);
    if (body !== undefined) head.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
    socket.write(head.join('\r\n') + '\r\n\r\n' + (body ?? ''));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (c) => (data += c));
    socket.on('error', reject);
    socket.on('end', () => {
      const [headers, ...rest] = data.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1]);
      const type = /^content-type: *(.*)$/im.exec(headers)?.[1] ?? '';
      resolve({ status, type, text: rest.join('\r\n\r\n') });
    });
  });
}

/** Paths a lax router would take for the declared one. */
function variants(path: string): string[] {
  const out = new Set<string>();
  out.add(path.toUpperCase());
  out.add(path.replace(/\/([a-z])/, (_, c: string) => `/${c.toUpperCase()}`));
  out.add(path.replace(/([a-z])([^a-z]*)$/, (_, c: string, tail: string) => c.toUpperCase() + tail));
  out.add(`${path}/`);
  out.add(`/${path}`);
  out.add(path.replace(/\/(?=[^/]*$)/, '//'));
  out.add(path.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`));
  out.add(path.replace(/([a-z])(?=[^a-z]*$)/, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`));
  out.delete(path);
  return [...out];
}

describe('the route table', () => {
  it('declares every route once, with a scope', () => {
    expect(routes.length).toBeGreaterThanOrEqual(14);
    const keys = routes.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const r of routes) expect(['public', 'ingest', 'read', 'admin']).toContain(r.access);
    // Only /health is public.
    expect(routes.filter((r) => r.access === 'public').map((r) => r.path)).toEqual(['/health']);
    // The admin surface is what the README says it is.
    expect(routes.filter((r) => r.path.startsWith('/api/scheduler') || r.path.startsWith('/api/runs')).every((r) => r.access === 'admin')).toBe(true);
  });

  it('refuses every guarded route without a token, with a wrong token, and the service token where admin is needed', async () => {
    for (const r of routes.filter((x) => x.access !== 'public')) {
      const path = concrete(r.path);
      const body = r.method === 'POST' ? '{}' : undefined;
      const none = await raw(r.method, path, null, body);
      expect(none.status, `${r.method} ${path} without a token`).toBe(401);
      expect(JSON.parse(none.text).code).toBe('unauthorized');
      const wrong = await raw(r.method, path, 'not-the-token-0123456789abcdef', body);
      expect(wrong.status, `${r.method} ${path} with a wrong token`).toBe(401);
      const service = await raw(r.method, path, SERVICE_TOKEN, body);
      if (r.access === 'admin') {
        expect(service.status, `${r.method} ${path} with the service token`).toBe(403);
        expect(JSON.parse(service.text).code).toBe('forbidden');
      } else {
        expect([401, 403], `${r.method} ${path} with the service token`).not.toContain(service.status);
      }
      const admin = await raw(r.method, path, ADMIN_TOKEN, body);
      expect([401, 403], `${r.method} ${path} with the admin token`).not.toContain(admin.status);
      if (r.method === 'GET') {
        const head = await raw('HEAD', path, null);
        expect(head.status, `HEAD ${path} without a token`).toBe(401);
      }
    }
  });

  it('lets every named token do exactly what its scope allows, on every route; a revoked or expired one does nothing', async () => {
    const knex = server.db.knex;
    const made: Record<string, string> = {};
    for (const scope of ['read', 'ingest', 'admin'] as const) made[scope] = (await createToken(knex, { name: `t-${scope}`, scope })).token;
    made.revoked = (await createToken(knex, { name: 't-revoked', scope: 'admin' })).token;
    await revokeToken(knex, 't-revoked');
    // Valid when made (an hour ago), expired a minute ago.
    made.expired = (await createToken(knex, { name: 't-expired', scope: 'admin', expiresAt: new Date(Date.now() - 60_000) }, new Date(Date.now() - 3_600_000))).token;
    const may: Record<string, string[]> = { read: ['read'], ingest: ['ingest', 'read'], admin: ['ingest', 'read', 'admin'], revoked: [], expired: [] };
    let checked = 0;
    for (const r of routes.filter((x) => x.access !== 'public')) {
      const path = concrete(r.path);
      for (const [kind, token] of Object.entries(made)) {
        const res = await raw(r.method, path, token, r.method === 'POST' ? '{}' : undefined);
        const where = `${r.method} ${path} with the ${kind} token`;
        if (kind === 'revoked' || kind === 'expired') expect(res.status, where).toBe(401);
        else if (may[kind].includes(r.access)) expect([401, 403], where).not.toContain(res.status);
        else {
          expect(res.status, where).toBe(403);
          expect(JSON.parse(res.text)).toMatchObject({ code: 'forbidden', details: { required: r.access, token: `t-${kind}` } });
        }
        checked++;
      }
    }
    expect(checked).toBe(routes.filter((x) => x.access !== 'public').length * 5);
    // The hash only is stored, and last use is kept.
    const rows = await knex('api_tokens').select('name', 'token_hash', 'last_used_at');
    expect(rows.every((row) => Buffer.isBuffer(row.token_hash) && row.token_hash.length === 32)).toBe(true);
    expect(JSON.stringify(rows)).not.toContain(made.read);
    expect(rows.find((row) => row.name === 't-read')?.last_used_at).not.toBeNull();
  });

  it('matches no path that differs from a declared one by case, slashes or percent-encoding', async () => {
    let checked = 0;
    for (const r of routes) {
      for (const v of variants(concrete(r.path))) {
        for (const token of [null, 'not-the-token-0123456789abcdef', SERVICE_TOKEN, ADMIN_TOKEN]) {
          const res = await raw(r.method, v, token, r.method === 'POST' ? '{}' : undefined);
          expect(res.status, `${r.method} ${v} (${token ? 'a token' : 'no token'})`).toBe(404);
          expect(res.type).toMatch(/application\/json/);
          expect(JSON.parse(res.text).code).toBe('not_found');
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(300);
  });

  it('answers other methods with JSON: 405 for a known one, 501 for one the server does not implement', async () => {
    for (const r of routes) {
      const path = concrete(r.path);
      const other = r.method === 'GET' ? 'DELETE' : 'PUT';
      const res = await raw(other, path, ADMIN_TOKEN);
      expect(res.status, `${other} ${path}`).toBe(405);
      expect(JSON.parse(res.text).code).toBe('method_not_allowed');
      const odd = await raw('PROPFIND', path, ADMIN_TOKEN);
      expect(odd.status, `PROPFIND ${path}`).toBe(501);
      expect(JSON.parse(odd.text).code).toBe('not_implemented');
    }
  });

  it('answers a request line Node cannot parse with a JSON 400', async () => {
    const res = await raw('FOO', '/api/stats', ADMIN_TOKEN);
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/application\/json/);
    expect(JSON.parse(res.text).code).toBe('bad_request');
  });

  it('reaches the handlers with the right tokens', async () => {
    expect((await raw('GET', '/api/scheduler/config', ADMIN_TOKEN)).status).toBe(200);
    expect((await raw('GET', '/api/stats', SERVICE_TOKEN)).status).toBe(200);
    expect((await raw('GET', '/health', null)).status).toBe(200);
  });
});
