/**
 * A server killed (SIGKILL) in the middle of a real run: no half snapshot, the job becomes
 * `interrupted` after the restart, and resuming it archives every company exactly once
 * without fetching the finished ones again. Also the CLI's exit codes and table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../server/sim/server';
import { ArchiveClient } from '../../shared/archive-client';
import type { Job, JobItem } from '../../shared/runs';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { ADMIN_TOKEN, SERVICE_TOKEN } from '../helpers/server';
import { until } from '../helpers/runs';
import { serverProcess } from '../helpers/server-process';

const BIN = path.resolve(__dirname, '../../bin/archive.mjs');
const children: ChildProcess[] = [];

let sim: Simulator;
let db: TestDatabase;

beforeAll(async () => {
  sim = await startSimulator({ companies: 50, latencyMs: 30, token: SERVICE_TOKEN });
  db = await freshDatabase();
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await sim.close();
  await db.drop();
});

function env(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // The tests' data folder (the signing key), not ./data in the checkout.
    ARCHIVE_DATA_DIR: path.join(os.tmpdir(), 'archive-test-data'),
    DATABASE_URL: db.url,
    SERVICE_TOKEN,
    ADMIN_TOKEN,
    CODEX_URL: sim.codexUrl,
    LEDGER_URL: sim.ledgerUrl,
    SERVICE_PORT: '0',
    LOG_LEVEL: 'info',
    SCHEDULER: 'off',
    PEER_BACKOFF_MS: '5',
  };
}

async function startServerProcess(): Promise<{ child: ChildProcess; url: string }> {
  const s = await serverProcess(env(), 30_000);
  children.push(s.child);
  return s;
}

function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...env(), LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

const admin = (url: string) => new ArchiveClient(url, ADMIN_TOKEN);

describe('a server killed mid-run', () => {
  it('leaves no half snapshot; after a restart the run is interrupted, and resuming archives each company exactly once', async () => {
    const first = await startServerProcess();
    const { job_id } = await admin(first.url).startRun({ year: 2026, month: 10, dry_run: false, concurrency: 2 });
    for (;;) {
      const job = await admin(first.url).job(job_id, { per_page: 1 });
      const [{ n }] = await db.knex('billing_snapshots').count({ n: '*' });
      if (Number(n) >= 10 || job.counts.done >= 10) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    // Statements the killed server had already sent still finish in PostgreSQL (or not, as a
    // whole): wait until its connections are gone, then read everything in one snapshot.
    await until(async () => {
      const { rows } = await db.knex.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()`);
      return rows[0].n === 0;
    });
    // Every snapshot that exists is whole, and its company's outcome says so.
    const { snapshots, recorded } = await db.knex.transaction(
      async (trx) => ({
        snapshots: (await trx('billing_snapshots').select('id', 'company_account_number', 'line_item_count')) as { id: number; company_account_number: string; line_item_count: number }[],
        recorded: (await trx('snapshot_job_items').where({ job_id, outcome: 'archived' }).pluck('account_number')) as string[],
      }),
      { isolationLevel: 'repeatable read' },
    );
    for (const s of snapshots) {
      const [{ n }] = await db.knex('snapshot_line_items').where({ snapshot_id: s.id }).count({ n: '*' });
      expect(Number(n)).toBe(s.line_item_count);
    }
    expect(recorded.sort()).toEqual(snapshots.map((s) => s.company_account_number).sort());
    const doneBefore = (await db.knex('snapshot_job_items').where({ job_id }).whereNotNull('outcome').pluck('account_number')) as string[];
    const fetchedBefore = new Map(sim.billingRequests);
    expect(doneBefore.length).toBeLessThan(50);

    const second = await startServerProcess();
    const job = await admin(second.url).job(job_id, { per_page: 1 });
    expect(job.status).toBe('interrupted');
    expect(job.error).toMatch(/resume/);
    expect((await admin(second.url).resumeRun(job_id)).status).toBe('running');
    let end: Job;
    for (;;) {
      end = await admin(second.url).job(job_id, { per_page: 1 });
      if (end.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(end.status).toBe('completed');
    expect(end.counts).toMatchObject({ total: 50, done: 50, archived: 49, no_bill: 1, failed: 0 });
    const perCompany = (await db.knex('billing_snapshots').groupBy('company_account_number').select('company_account_number').count({ n: '*' })) as { n: number }[];
    expect(perCompany).toHaveLength(49);
    expect(perCompany.every((r) => Number(r.n) === 1)).toBe(true);
    for (const acct of doneBefore) expect(sim.billingRequests.get(acct)).toBe(fetchedBefore.get(acct));
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  });
});

describe('archive scheduled-snapshots', () => {
  it('prints the plan of a dry run and exits 0 when it completed', async () => {
    const { code, out } = await cli(['scheduled-snapshots', '--year', '2026', '--month', '9', '--accounts', '610131,610262', '--dry-run']);
    expect(out).toMatch(/Plan \(nothing was written\):/);
    expect(out).toMatch(/610131 .* would_archive +\d+\.\d{2}/);
    expect(out).toMatch(/dry_run +completed +2 +0 +2/);
    expect(code).toBe(0);
    const [{ n }] = await db.knex('billing_snapshots').where({ billing_month: 9 }).count({ n: '*' });
    expect(Number(n)).toBe(0);
  });

  it('exits 1 when a company failed, naming it', async () => {
    sim.settings.failingAccounts = ['610131'];
    try {
      const { code, out } = await cli(['scheduled-snapshots', '--year', '2026', '--month', '9', '--accounts', '610131,610262']);
      expect(code).toBe(1);
      expect(out).toMatch(/610131 .* failed .*Ledger answered 500/);
      expect(out).toMatch(/partial: 1 of 2 companies failed/);
    } finally {
      sim.settings.failingAccounts = [];
    }
  });

  it('without a period does nothing when the schedule is disabled', async () => {
    await db.knex('scheduled_snapshots').where({ id: 1 }).update({ enabled: false });
    const { code, out } = await cli(['scheduled-snapshots']);
    expect(code).toBe(0);
    expect(out).toMatch(/Nothing to do: the schedule is disabled/);
  });

  it('refuses bad arguments with the reason', async () => {
    const { code, out } = await cli(['scheduled-snapshots', '--year', '2026']);
    expect(code).toBe(2);
    expect(out).toMatch(/give both --year and --month/);
    const bad = await cli(['scheduled-snapshots', '--year', '2026', '--month', '9', '--accounts', 'x1']);
    expect(bad.code).toBe(2);
    expect(bad.out).toMatch(/--accounts must be account numbers/);
  });
});

export type { JobItem };
