/**
 * Two instances on one PostgreSQL, behind a small round-robin proxy: reads are served by both;
 * a due schedule fires on exactly one; a run is owned by one; and when the owner is SIGKILLed
 * mid-run, the other instance notices and resumes it, each company archived exactly once.
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveClient } from '../../shared/archive-client';
import { createLogger } from '../../server/log';
import { startServer, type RunningServer } from '../../server/main';
import { startSimulator, type Simulator } from '../../server/sim/server';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { until } from '../helpers/runs';
import { ADMIN_TOKEN, SERVICE_TOKEN, testConfig } from '../helpers/server';
import { serverProcess } from '../helpers/server-process';

let sim: Simulator;
let db: TestDatabase;
const children: ChildProcess[] = [];

beforeAll(async () => {
  sim = await startSimulator({ companies: 40, latencyMs: 30, token: SERVICE_TOKEN });
  db = await freshDatabase();
}, 60_000);
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await sim?.close();
  await db?.drop();
});

const env = { DATABASE_URL: '', CODEX_URL: '', LEDGER_URL: '', PEER_BACKOFF_MS: '5' };
const config = (over: Record<string, string> = {}) => testConfig({ ...env, DATABASE_URL: db.url, CODEX_URL: sim.codexUrl, LEDGER_URL: sim.ledgerUrl, ...over });

/** A round-robin proxy over `upstreams`; counts what each served. */
async function proxy(upstreams: string[]): Promise<{ url: string; served: number[]; close(): Promise<void> }> {
  const served = upstreams.map(() => 0);
  let next = 0;
  const server = http.createServer((req, res) => {
    const i = next++ % upstreams.length;
    const target = new URL(req.url!, upstreams[i]);
    const up = http.request(target, { method: req.method, headers: req.headers }, (r) => {
      served[i]++;
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, served, close: () => new Promise((r) => server.close(() => r())) };
}

async function serve(): Promise<{ child: ChildProcess; url: string }> {
  const started = serverProcess({ DATABASE_URL: db.url, SERVICE_TOKEN, ADMIN_TOKEN, CODEX_URL: sim.codexUrl, LEDGER_URL: sim.ledgerUrl, SCHEDULER: 'off', PEER_BACKOFF_MS: '5' });
  const s = await started;
  children.push(s.child);
  return s;
}

describe('two instances on one database', () => {
  let a: RunningServer;
  let b: RunningServer;

  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('fire a due schedule exactly once, the run owned by one of them, and both serve reads behind a proxy', async () => {
    // The schedule's due time (the 1st, 02:00) has passed at start-up for both: each catches up, one wins.
    await db.knex('scheduled_snapshots').update({ created_at: new Date('2026-01-01T00:00:00Z') });
    const clock = { now: () => new Date('2026-11-01T05:00:00Z'), arm: () => ({ cancel() {} }), pollMs: 60_000 };
    [a, b] = await Promise.all([
      startServer(config({ SCHEDULER: 'on' }), { log: createLogger('silent'), quiet: true, schedulerClock: clock }),
      startServer(config({ SCHEDULER: 'on' }), { log: createLogger('silent'), quiet: true, schedulerClock: clock }),
    ]);
    await until(async () => Number((await db.knex('snapshot_jobs').count({ n: '*' }))[0].n) >= 1, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    const jobs = await db.knex('snapshot_jobs').select('id', 'owner', 'target_year', 'target_month');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ target_year: 2026, target_month: 10 });
    const owner = jobs[0].owner as string;
    expect(owner).toBeTruthy();
    await Promise.all([a.engine.wait(jobs[0].id), b.engine.wait(jobs[0].id)]);
    const end = await db.knex('snapshot_jobs').where('id', jobs[0].id).first('status', 'owner');
    expect(end.status).toBe('completed');
    const perCompany = (await db.knex('billing_snapshots').groupBy('company_account_number').count({ n: '*' })) as { n: number }[];
    expect(perCompany.every((r) => Number(r.n) === 1)).toBe(true);

    const p = await proxy([a.url, b.url]);
    try {
      const client = new ArchiveClient(p.url, ADMIN_TOKEN);
      const results = await Promise.all(Array.from({ length: 10 }, () => client.search({ year: '2026', month: '10' })));
      expect(new Set(results.map((r) => r.total)).size).toBe(1);
      expect(results[0].total).toBe(perCompany.length);
      expect(p.served.every((n) => n >= 5)).toBe(true);
    } finally {
      await p.close();
    }
  }, 120_000);

  it('hand a run whose owner was SIGKILLed to the other, which resumes it: each company archived once', async () => {
    const first = await serve();
    const { job_id } = await new ArchiveClient(first.url, ADMIN_TOKEN).startRun({ year: 2026, month: 9, dry_run: false, concurrency: 2 });
    await until(async () => Number((await db.knex('billing_snapshots').where({ billing_year: 2026, billing_month: 9 }).count({ n: '*' }))[0].n) >= 8, 30_000);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    // The other instance notices the dead owner (its lock is gone), as it checks every 30 s.
    await until(async () => {
      await a.engine.recoverInterrupted();
      return (await db.knex('snapshot_jobs').where('id', job_id).first('status')).status === 'interrupted';
    }, 30_000);
    const client = new ArchiveClient(a.url, ADMIN_TOKEN);
    expect((await client.resumeRun(job_id)).status).toBe('running');
    await a.engine.wait(job_id);
    const end = await client.job(job_id, { per_page: 1 });
    expect(end.status).toBe('completed');
    expect(end.counts.failed).toBe(0);
    const perCompany = (await db.knex('billing_snapshots').where({ billing_year: 2026, billing_month: 9 }).groupBy('company_account_number').count({ n: '*' })) as { n: number }[];
    expect(perCompany.length).toBe(end.counts.archived);
    expect(perCompany.every((r) => Number(r.n) === 1)).toBe(true);
  }, 120_000);
});
