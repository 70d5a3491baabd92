/**
 * The database misbehaving: a held lock or a stalled statement, a read-only database, dropped
 * connections. Requests fail fast with a JSON 503 that says why, the log gets one warning
 * instead of a stack per request, and the server recovers by itself. Also the cap on live
 * event streams and the one poller their followers share.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeBill } from '../helpers/fixtures';
import { adminQuery } from '../helpers/pg';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../helpers/server';

const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
});

function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) });
  return { lines, log: pino({ level: 'info' }, sink) };
}

describe('a held lock or a stalled statement', () => {
  let holder: pg.Client | undefined;
  afterEach(async () => {
    await holder?.end().catch(() => undefined);
    holder = undefined;
  });

  it('answers 503 within the configured timeouts, and works again once the lock is gone', async () => {
    const { lines, log } = capture();
    const s = await startTestServer({ DB_LOCK_TIMEOUT_MS: '300', DB_STATEMENT_TIMEOUT_MS: '5000', SCHEDULER: 'off' }, { log });
    servers.push(s);
    holder = new pg.Client({ connectionString: s.database.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE billing_snapshots IN ACCESS EXCLUSIVE MODE');

    for (let i = 0; i < 6; i++) {
      const started = Date.now();
      const res = await s.api('/api/snapshot', { method: 'POST', json: makeBill({ company_account_number: String(610000 + i) }) });
      const ms = Date.now() - started;
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.code).toBe('dependency_unavailable');
      expect(body.error).toMatch(/lock was not granted in time \(DB_LOCK_TIMEOUT_MS\)/);
      expect(ms).toBeLessThan(3000);
    }
    const search = await s.api('/api/snapshots/search?limit=1');
    expect(search.status).toBe(503);

    await holder.query('ROLLBACK');
    expect((await s.api('/api/snapshot', { method: 'POST', json: makeBill({ company_account_number: '619999' }) })).status).toBe(201);

    // One warning per reason, no stack, no error lines.
    const warnings = lines.filter((l) => l.level === 40 && String(l.msg).startsWith('answering 503'));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(2);
    expect(JSON.stringify(warnings)).not.toMatch(/"stack"/);
    expect(lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });
});

describe('a stalled statement', () => {
  it('is cancelled after DB_STATEMENT_TIMEOUT_MS: a 503 that says so', async () => {
    const s = await startTestServer({ DB_LOCK_TIMEOUT_MS: '20000', DB_STATEMENT_TIMEOUT_MS: '400', SCHEDULER: 'off' });
    servers.push(s);
    const holder = new pg.Client({ connectionString: s.database.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE billing_snapshots IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const res = await s.api('/api/snapshots/search?limit=1');
      expect(res.status).toBe(503);
      expect((await res.json()).error).toMatch(/did not finish in time \(DB_STATEMENT_TIMEOUT_MS\)/);
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });
});

describe('a read-only database', () => {
  it('refuses writes with database_read_only, keeps reading, and /health says so', async () => {
    const s = await startTestServer({ SCHEDULER: 'off' });
    servers.push(s);
    expect((await s.api('/api/snapshot', { method: 'POST', json: makeBill({ company_account_number: '620001' }) })).status).toBe(201);
    await adminQuery(`ALTER DATABASE ${s.database.name} SET default_transaction_read_only = on`);
    // Existing connections keep their settings: make the server open new ones.
    await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${s.database.name}' AND pid <> pg_backend_pid()`);
    try {
      let res: Response | undefined;
      for (let i = 0; i < 5; i++) {
        res = await s.api('/api/snapshot', { method: 'POST', json: makeBill({ company_account_number: '620002' }) });
        if (res.status !== 503 || (await res.clone().json()).code === 'database_read_only') break;
      }
      expect(res!.status).toBe(503);
      const body = await res!.json();
      expect(body.code).toBe('database_read_only');
      expect(body.error).toMatch(/read-only/);
      expect((await s.api('/api/snapshot/620001-202603')).status).toBe(200);
      const health = await s.api('/health', { token: null });
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: 'degraded', database: 'read_only' });
    } finally {
      await adminQuery(`ALTER DATABASE ${s.database.name} RESET default_transaction_read_only`);
    }
  });
});

describe('dropped connections', () => {
  it('are 503s, never 500s, and the server recovers by itself', async () => {
    const { lines, log } = capture();
    const s = await startTestServer({ SCHEDULER: 'off', DB_LOCK_TIMEOUT_MS: '20000', DB_STATEMENT_TIMEOUT_MS: '20000' }, { log });
    servers.push(s);
    // Requests in flight, waiting on a lock, when their connections are cut.
    const holder = new pg.Client({ connectionString: s.database.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE billing_snapshots IN ACCESS EXCLUSIVE MODE');
    const holderPid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const inFlight = Array.from({ length: 4 }, (_, i) => s.api(i % 2 ? '/api/snapshots/search?limit=1' : '/api/stats'));
    await new Promise((r) => setTimeout(r, 300));
    await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${s.database.name}' AND pid <> pg_backend_pid() AND pid <> ${holderPid}`);
    const answers = await Promise.all(inFlight);
    expect(answers.map((r) => r.status)).toEqual([503, 503, 503, 503]);
    for (const r of answers) expect((await r.json()).code).toBe('dependency_unavailable');
    await holder.query('ROLLBACK');
    await holder.end();
    // Idle connections cut between requests: answered or 503, never 500; then back by itself.
    const statuses: number[] = [];
    for (let round = 0; round < 3; round++) {
      await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${s.database.name}' AND pid <> pg_backend_pid()`);
      const more = await Promise.all(Array.from({ length: 6 }, (_, i) => s.api(i % 2 ? '/api/snapshots/search?limit=1' : '/api/stats')));
      statuses.push(...more.map((r) => r.status));
    }
    expect(statuses.filter((x) => x !== 200 && x !== 503)).toEqual([]);
    expect((await s.api('/api/stats')).status).toBe(200);
    expect(lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });
});

describe('live event streams', () => {
  it('are capped, and the followers of a job run elsewhere share one poller', async () => {
    const s = await startTestServer({ SCHEDULER: 'off', EVENTS_MAX_SUBSCRIBERS: '2' });
    servers.push(s);
    const id = randomUUID();
    // A job another server is running: followed by polling its row.
    await s.db.knex('snapshot_jobs').insert({ id, job_type: 'dry_run', dry_run: true, status: 'running', target_year: 2026, target_month: 1, owner: 'elsewhere' });
    const open = () => s.api(`/api/runs/${id}/events`, { token: ADMIN_TOKEN, timeoutMs: 0 });
    const a = await open();
    const b = await open();
    expect([a.status, b.status]).toEqual([200, 200]);
    const third = await open();
    expect(third.status).toBe(429);
    expect((await third.json()).code).toBe('too_many_subscribers');
    expect(s.watch.polling).toBe(1);
    expect(s.watch.subscribers).toBe(2);
    // The job ends elsewhere: both followers get the end, and the streams close.
    await s.db.knex('snapshot_jobs').where({ id }).update({ status: 'completed', completed_at: new Date() });
    const [ta, tb] = await Promise.all([a.text(), b.text()]);
    for (const t of [ta, tb]) expect(t).toMatch(/event: end/);
    // Room again once they closed.
    const again = await open();
    expect(again.status).toBe(200);
    expect(await again.text()).toMatch(/event: end/);
  });
});

describe('lists', () => {
  it('take limit and offset on every list endpoint, as the guide and the earlier Archive use them', async () => {
    const s = await startTestServer({ SCHEDULER: 'off' });
    servers.push(s);
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const [i, id] of ids.entries()) {
      await s.db.knex('snapshot_jobs').insert({ id, job_type: 'dry_run', dry_run: true, status: 'completed', target_year: 2026, target_month: i + 1, created_at: new Date(Date.UTC(2026, 0, i + 1)) });
    }
    await s.db.knex('snapshot_job_items').insert(['1', '2', '3', '4'].map((a, i) => ({ job_id: ids[0], account_number: a, position: i + 1 })));
    const get = async (path: string) => {
      const res = await s.api(path, { token: ADMIN_TOKEN });
      expect(res.status, path).toBe(200);
      return res.json();
    };
    const jobs = await get('/api/scheduler/jobs?limit=50');
    expect(jobs).toMatchObject({ total: 3, limit: 50, offset: 0 });
    const second = await get('/api/scheduler/jobs?limit=1&offset=1');
    expect(second.jobs.map((j: { id: string }) => j.id)).toEqual([ids[1]]);
    const items = await get(`/api/scheduler/jobs/${ids[0]}?limit=2&offset=2`);
    expect(items.items.items.map((i: { account_number: string }) => i.account_number)).toEqual(['3', '4']);
    expect((await get('/api/snapshots/search?limit=5&offset=0')).limit).toBe(5);
    expect((await s.api('/api/snapshot', { method: 'POST', json: makeBill({ company_account_number: '620547' }) })).status).toBe(201);
    expect((await get('/api/snapshots/company/620547?limit=5&offset=0')).limit).toBe(5);
    expect((await s.api('/api/scheduler/jobs?limit=0', { token: ADMIN_TOKEN })).status).toBe(400);
  });
});

describe('slow requests', () => {
  const slowly = (port: number, first: string, rest: string | null, waitMs: number) =>
    new Promise<{ text: string; ms: number }>((resolve, reject) => {
      const started = Date.now();
      const socket = net.connect(port, '127.0.0.1', () => socket.write(first));
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (c) => (text += c));
      socket.on('error', reject);
      socket.on('close', () => resolve({ text, ms: Date.now() - started }));
      if (rest !== null) setTimeout(() => socket.writable && socket.write(rest), waitMs);
      setTimeout(() => socket.destroy(), 15_000);
    });

  it('are cut with a JSON 408 when the headers or the body do not arrive in time', async () => {
    const s = await startTestServer({ SCHEDULER: 'off', HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000' });
    servers.push(s);
    const port = Number(new URL(s.url).port);
    // Headers that never finish.
    const headers = await slowly(port, 'GET /api/stats HTTP/1.1\r\nHost: x\r\n', null, 0);
    expect(headers.text).toMatch(/^HTTP\/1\.1 408/);
    expect(JSON.parse(headers.text.split('\r\n\r\n')[1]).code).toBe('request_timeout');
    expect(headers.ms).toBeLessThan(4000);
    // A body that never finishes (headers in time).
    const body = await slowly(port, `POST /api/snapshot HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":`, null, 0);
    expect(body.text).toMatch(/^HTTP\/1\.1 408/);
    expect(body.ms).toBeLessThan(5000);
    expect(Number((await s.db.knex('billing_snapshots').count({ n: '*' }))[0].n)).toBe(0);
  });
});

describe('the connection pool', () => {
  it('keeps DATABASE_POOL_MIN connections open while idle, so a burst after a quiet spell does not wait for new ones', async () => {
    const s = await startTestServer({ SCHEDULER: 'off', DATABASE_POOL_MIN: '2' });
    servers.push(s);
    const pool = (s.db.knex.client as { pool: { numFree(): number; numUsed(): number; min: number } }).pool;
    expect(pool.min).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    // Open without a request: in the pool, and as backends in PostgreSQL.
    expect(pool.numFree() + pool.numUsed()).toBeGreaterThanOrEqual(2);
    const admin = new pg.Client({ connectionString: s.database.url });
    await admin.connect();
    try {
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`);
      expect(rows[0].n).toBeGreaterThanOrEqual(2);
    } finally {
      await admin.end();
    }
  });
});
