/**
 * Reads from a streaming replica (DATABASE_READ_URL), tested with a real one the test builds
 * (initdb + pg_basebackup on loopback): search, company history and statistics come from the
 * replica (a bill archived while its replay is paused is not in them yet), while a bill read by
 * its invoice falls back to the primary (read your own writes); writes go to the primary;
 * and with the replica down, reads are served by the primary and /health says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveClient } from '../../shared/archive-client';
import { createLogger } from '../../server/log';
import { startServer, type RunningServer } from '../../server/main';
import { openDatabase } from '../../server/db/database';
import { migrateToLatest } from '../../server/db/migrate';
import { ensureDefaultSchedule } from '../../server/schedule/store';
import { makeBill } from '../helpers/fixtures';
import { startCluster, startReplica, type Cluster } from '../helpers/cluster';
import { until } from '../helpers/runs';
import { ADMIN_TOKEN, SERVICE_TOKEN, testConfig } from '../helpers/server';

let primary: Cluster;
let replica: Awaited<ReturnType<typeof startReplica>>;
let server: RunningServer;
let admin: ArchiveClient;
let service: ArchiveClient;

beforeAll(async () => {
  primary = await startCluster();
  const db = await openDatabase({ databaseUrl: primary.url('postgres'), dataDir: '/nonexistent', poolMax: 1 });
  await db.knex.raw('CREATE DATABASE archive');
  await db.close();
  const archive = await openDatabase({ databaseUrl: primary.url('archive'), dataDir: '/nonexistent', poolMax: 1 });
  await migrateToLatest(archive.knex);
  await ensureDefaultSchedule(archive.knex);
  await archive.close();
  replica = await startReplica(primary);
  server = await startServer(testConfig({ DATABASE_URL: primary.url('archive'), DATABASE_READ_URL: replica.url('archive'), SCHEDULER: 'off' }), { log: createLogger('silent'), quiet: true });
  admin = new ArchiveClient(server.url, ADMIN_TOKEN);
  service = new ArchiveClient(server.url, SERVICE_TOKEN);
}, 120_000);
afterAll(async () => {
  await server?.close();
  replica?.destroy();
  primary?.destroy();
});

const post = (bill: Record<string, unknown>) => service.send('/api/snapshot', { method: 'POST', json: bill });

describe('DATABASE_READ_URL', () => {
  it('serves searches from the replica and a bill by its invoice from either, writes going to the primary', async () => {
    const first = makeBill({ company_account_number: '870001', billing_month: 1 });
    expect((await post(first)).status).toBe(201);
    await until(async () => (await admin.search({ account_number: '870001' })).total === 1, 10_000);
    expect(await (await fetch(`${server.url}/health`)).json()).toMatchObject({ status: 'ok', database: 'ok', replica: 'ok' });

    replica.pauseReplay();
    try {
      const second = makeBill({ company_account_number: '870001', billing_month: 2 });
      expect((await post(second)).status).toBe(201);
      await new Promise((r) => setTimeout(r, 300));
      // The search is the replica's: the bill archived since the pause is not in it yet.
      expect((await admin.search({ account_number: '870001' })).total).toBe(1);
      expect((await admin.send('/api/stats')).status).toBe(200);
      // The bill itself is read where it is: the primary, as the replica has not got it.
      const res = await admin.send(`/api/snapshot/${second.invoice_number}`);
      expect(res.status).toBe(200);
      expect((await res.json()).invoice_number).toBe(second.invoice_number);
      expect((await admin.send(`/api/snapshot/${second.invoice_number}/csv`)).status).toBe(200);
    } finally {
      replica.resumeReplay();
    }
    await until(async () => (await admin.search({ account_number: '870001' })).total === 2, 10_000);
  }, 60_000);

  it('reads from the primary while the replica is down, and /health says so', async () => {
    replica.stop('fast');
    try {
      const health = await (await fetch(`${server.url}/health`)).json();
      expect(health).toMatchObject({ status: 'ok', database: 'ok', replica: 'unavailable' });
      expect((await admin.search({ account_number: '870001' })).total).toBe(2);
      expect((await post(makeBill({ company_account_number: '870001', billing_month: 3 }))).status).toBe(201);
    } finally {
      replica.start();
    }
    await until(async () => (await (await fetch(`${server.url}/health`)).json()).replica === 'ok', 20_000);
  }, 60_000);
});
