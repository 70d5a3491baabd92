/**
 * Faults, bounded, on loopback:
 *  - the server SIGKILLed during an ingest load at concurrency 16, three times: after each
 *    restart every bill that got a 201 is there, complete, its hash recomputes; no half bill;
 *  - PostgreSQL restarted (fast, then immediate) under load, on a throwaway cluster: requests
 *    meanwhile get a fast JSON 503, /health says degraded, the server recovers by itself, and
 *    nothing acknowledged is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../server/db/database';
import { migrateToLatest } from '../../server/db/migrate';
import { ensureDefaultSchedule } from '../../server/schedule/store';
import { startServer, type RunningServer } from '../../server/main';
import { createLogger } from '../../server/log';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { makeBill } from '../helpers/fixtures';
import { recompute } from '../helpers/recompute';
import { startCluster, type Cluster } from '../helpers/cluster';
import { ADMIN_TOKEN, SERVICE_TOKEN, testConfig } from '../helpers/server';
import { serverProcess } from '../helpers/server-process';

const serve = (databaseUrl: string) => serverProcess({ DATABASE_URL: databaseUrl, SERVICE_TOKEN, ADMIN_TOKEN, SCHEDULER: 'off', LOG_INTEGRATE_MS: '50' });

let counter = 0;
/** A distinct valid bill each call. */
const nextBill = () => {
  const n = counter++;
  return makeBill({ company_account_number: String(860000 + Math.floor(n / 12)), billing_year: 2025, billing_month: (n % 12) + 1 });
};

/** `clients` loops posting bills until `stop()`; the invoices that got a 201. */
function load(url: string, clients: number) {
  const acknowledged: string[] = [];
  const statuses = new Map<number | string, number>();
  let running = true;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      const bill = nextBill();
      try {
        const res = await fetch(`${url}/api/snapshot`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${SERVICE_TOKEN}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(bill),
          signal: AbortSignal.timeout(15_000),
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 201) acknowledged.push(bill.invoice_number);
        await res.arrayBuffer();
      } catch {
        statuses.set('network', (statuses.get('network') ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  });
  return {
    acknowledged,
    statuses,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Every acknowledged bill is there, whole, and hashes to its content hash; there is no bill without all its lines. */
async function checkNothingLost(db: Database, acknowledged: string[]): Promise<void> {
  const rows = await db.knex('billing_snapshots').whereIn('invoice_number', acknowledged).select('id', 'invoice_number', 'content_hash', 'line_item_count');
  expect(rows.length).toBe(acknowledged.length);
  const { rows: half } = await db.knex.raw(`SELECT s.invoice_number FROM billing_snapshots s WHERE s.line_item_count <> (SELECT count(*) FROM snapshot_line_items l WHERE l.snapshot_id = s.id)`);
  expect(half).toEqual([]);
  for (const r of rows.slice(0, 40)) expect(await recompute(db.knex, Number(r.id)), r.invoice_number).toBe(r.content_hash);
}

describe('the server SIGKILLed under an ingest load at concurrency 16', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('keeps every acknowledged bill whole, three times over', async () => {
    const all: string[] = [];
    for (let round = 0; round < 3; round++) {
      const { url, child } = await serve(database.url);
      const l = load(url, 16);
      await new Promise((r) => setTimeout(r, 1500));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      await l.stop();
      expect(l.acknowledged.length, `round ${round}: bills acknowledged before the kill`).toBeGreaterThan(10);
      all.push(...l.acknowledged);
    }
    // After the last restart, as before every restart: all there.
    const { child } = await serve(database.url);
    try {
      await checkNothingLost(database, all);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 180_000);
});

describe('PostgreSQL restarted under load', () => {
  let cluster: Cluster;
  let server: RunningServer;
  let db: Database;

  beforeAll(async () => {
    cluster = await startCluster();
    const admin = await openDatabase({ databaseUrl: cluster.url('postgres'), dataDir: '/nonexistent', poolMax: 1 });
    await admin.knex.raw('CREATE DATABASE archive');
    await admin.close();
    db = await openDatabase({ databaseUrl: cluster.url('archive'), dataDir: '/nonexistent', poolMax: 2 });
    await migrateToLatest(db.knex);
    await ensureDefaultSchedule(db.knex);
    server = await startServer(testConfig({ DATABASE_URL: cluster.url('archive'), SCHEDULER: 'off', DB_STATEMENT_TIMEOUT_MS: '3000' }), { log: createLogger('silent'), quiet: true });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await db?.close();
    cluster?.destroy();
  });

  it.each(['fast', 'immediate'] as const)(
    '(%s): fast JSON 503s meanwhile, /health degraded, recovery by itself, nothing acknowledged lost',
    async (mode) => {
      const l = load(server.url, 8);
      await new Promise((r) => setTimeout(r, 800));
      cluster.stop(mode);
      // While it is down: a post is answered quickly, in JSON, and /health says so.
      const t0 = performance.now();
      const res = await fetch(`${server.url}/api/snapshot`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${SERVICE_TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(nextBill()),
      });
      const took = performance.now() - t0;
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.code).toBe('dependency_unavailable');
      expect(body.error).toMatch(/database/i);
      expect(took).toBeLessThan(12_000);
      const health = await fetch(`${server.url}/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: 'degraded', database: 'unavailable' });
      cluster.start();
      // Recovery by itself: posts succeed again within a few seconds, without a restart of the server.
      const deadline = Date.now() + 20_000;
      let ok = false;
      while (!ok && Date.now() < deadline) {
        const r = await fetch(`${server.url}/health`);
        ok = r.status === 200;
        if (!ok) await new Promise((r2) => setTimeout(r2, 200));
      }
      expect(ok).toBe(true);
      const before = l.acknowledged.length;
      await new Promise((r) => setTimeout(r, 800));
      await l.stop();
      expect(l.acknowledged.length).toBeGreaterThan(before);
      // No answer was a 500: the database going away is a 503, or a dropped connection.
      expect([...l.statuses.keys()].filter((s) => typeof s === 'number' && s >= 500 && s !== 503)).toEqual([]);
      await checkNothingLost(db, l.acknowledged);
    },
    90_000,
  );
});
