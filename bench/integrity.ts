/**
 * Benchmark of the tamper-evident log (issue "Proof, not promise"), against real PostgreSQL:
 *  - ingest of the same Ledger-shaped bills with the log and without it (the trigger that
 *    queues leaves disabled, the sequencer idle), in one run, alternating A B B A so the
 *    machine's drift falls on both;
 *  - the integration delay (a leaf's integration time minus the moment its bill was queued,
 *    inside the archiving statement, before its 201): p50 / p99 / max;
 *  - `archive verify` over the ingested bills: bills/s.
 * Prints figures; asserts nothing.
 *
 *   BENCH_INTEGRITY_BILLS=4000 BENCH_CONCURRENCY=8
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { benchBill } from './bills';
import { ADMIN_TOKEN, freshBenchDatabase, SERVICE_TOKEN } from './lib/db';
import { runLoad } from './lib/load';
import { startServerProcess } from './lib/server-process';
import { ms, summarise, table } from './lib/stats';
import { copyYardstick } from './lib/yardstick';

const BILLS = Number(process.env.BENCH_INTEGRITY_BILLS ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const BIN = path.resolve(import.meta.dirname, '../bin/archive.mjs');

function bodies(offset: number): string[] {
  const out: string[] = [];
  const companies = Math.ceil(BILLS / 10);
  for (let m = 1; m <= 10; m++) for (let c = 0; c < companies && out.length < BILLS; c++) out.push(JSON.stringify(benchBill(offset + c, 2025, m)));
  return out;
}

interface Ingest {
  label: string;
  billsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  delays?: { p50: number; p99: number; max: number; leaves: number };
}

/**
 * One pass: `withLog` false disables the trigger that queues bills' leaves and idles the
 * sequencer; `queueOnly` keeps the trigger but idles the sequencer (where the cost is: the
 * ingest path's queue, or the integration beside it).
 */
async function ingest(label: string, withLog: boolean, offset: number, queueOnly = false): Promise<Ingest> {
  const database = await freshBenchDatabase(`archive_bench_log_${withLog ? 'on' : 'off'}`);
  if (!withLog) await database.db.knex.raw('ALTER TABLE billing_snapshots DISABLE TRIGGER billing_snapshots_log');
  const idle = !withLog || queueOnly;
  const server = await startServerProcess({ DATABASE_URL: database.url, SERVICE_TOKEN, ADMIN_TOKEN, DATABASE_POOL_MAX: '10', ...(idle ? { LOG_INTEGRATE_MS: '60000' } : {}) });
  const list = bodies(offset);
  let i = 0;
  const load = await runLoad({
    baseUrl: server.url,
    concurrency: CONCURRENCY,
    next: () =>
      i < list.length
        ? {
            kind: 'POST',
            path: '/api/snapshot',
            method: 'POST',
            headers: { Authorization: `Bearer ${SERVICE_TOKEN}`, 'Content-Type': 'application/json' },
            body: list[i++],
            expect: [201],
          }
        : undefined,
  });
  const lat = summarise(load.byKind.get('POST') ?? []);
  const result: Ingest = { label, billsPerSecond: Math.round(load.completed / load.seconds), p50: lat.p50, p99: lat.p99, errors: [...load.errors.values()].reduce((a, b) => a + b, 0) };
  if (withLog && !queueOnly) {
    // Wait for the queue to drain, then read every leaf's delay.
    for (let t = 0; t < 600; t++) {
      const { rows } = await database.db.knex.raw('SELECT count(*)::int AS n FROM log_queue');
      if (rows[0].n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const { rows } = await database.db.knex.raw(`SELECT
        percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM integrated_at - queued_at)) * 1000 AS p50,
        percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM integrated_at - queued_at)) * 1000 AS p99,
        max(extract(epoch FROM integrated_at - queued_at)) * 1000 AS max, count(*)::int AS leaves FROM log_leaves`);
    result.delays = { p50: Number(rows[0].p50), p99: Number(rows[0].p99), max: Number(rows[0].max), leaves: rows[0].leaves };
  }
  await server.stop();
  if (withLog && yardstick === undefined) yardstick = copyYardstick(database.url, BILLS);
  if (withLog && !queueOnly) {
    // archive verify over what was ingested, as an operator runs it (the built CLI, the server
    // stopped), on the tables as autovacuum leaves them after a load (VACUUM ANALYZE now, not
    // whenever it comes by), three times: the machine's speed drifts from run to run.
    await database.db.knex.raw('VACUUM ANALYZE');
    for (let run = 0; run < 3; run++) {
      const t0 = performance.now();
      const out = execFileSync(process.execPath, [BIN, 'verify', '--json'], {
        env: { ...process.env, NODE_ENV: 'production', DATABASE_URL: database.url, SERVICE_TOKEN, ADMIN_TOKEN, ARCHIVE_DATA_DIR: path.join(os.tmpdir(), 'archive-bench-data') },
        encoding: 'utf8',
        maxBuffer: 64 * 2 ** 20,
      });
      const wall = (performance.now() - t0) / 1000;
      const report = JSON.parse(out);
      verifyFigures.push({ bills: report.bills, ok: report.ok, inside: report.bills_per_second, wall: Math.round(report.bills / wall), seconds: report.seconds });
    }
  }
  await database.drop();
  return result;
}

let yardstick: number | undefined;
const verifyFigures: { bills: number; ok: boolean; inside: number; wall: number; seconds: number }[] = [];

async function main() {
  console.log(`\nIntegrity log benchmark — ${os.cpus().length} cores, node ${process.version}`);
  console.log(`Ingest: ${BILLS} bills (25 line items each) per pass at concurrency ${CONCURRENCY}, with the log (A) and without it (B), in the order A B B A`);
  const runs: Ingest[] = [];
  if (process.env.BENCH_INTEGRITY_QUEUE_ONLY) {
    // Where the cost is: the queue on the ingest path, or the sequencer beside it.
    runs.push(await ingest('B without log', false, 0));
    runs.push(await ingest('Q queue, no sequencer', true, 0, true));
    runs.push(await ingest('A with log', true, 0));
    runs.push(await ingest('Q queue, no sequencer', true, 0, true));
    runs.push(await ingest('B without log', false, 0));
  } else {
    // A first pass warms the machine (PostgreSQL's caches, the file cache): not counted.
    await ingest('warm-up', false, 0);
    runs.push(await ingest('A with log', true, 0));
    runs.push(await ingest('B without log', false, 0));
    runs.push(await ingest('B without log', false, 0));
    runs.push(await ingest('A with log', true, 0));
  }
  console.log(
    table([
      ['pass', 'bills/s', 'p50 ms', 'p99 ms', 'errors', 'integration delay p50 ms', 'p99 ms', 'max ms'],
      ...runs.map((r) => [r.label, r.billsPerSecond, ms(r.p50), ms(r.p99), r.errors, r.delays ? ms(r.delays.p50) : '—', r.delays ? ms(r.delays.p99) : '—', r.delays ? ms(r.delays.max) : '—']),
    ]),
  );
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const withLog = mean(runs.filter((r) => r.label.startsWith('A')).map((r) => r.billsPerSecond));
  const without = mean(runs.filter((r) => r.label.startsWith('B')).map((r) => r.billsPerSecond));
  console.log(`With the log ${Math.round(withLog)} bills/s, without ${Math.round(without)} bills/s: ${(((withLog - without) / without) * 100).toFixed(1)}% (target: within 10%).`);
  console.log(`Integration delay: a leaf is signed within p99 ${ms(Math.max(...runs.filter((r) => r.delays).map((r) => r.delays!.p99)))} ms of its bill's archiving (target: p99 under 1 s).`);
  console.log(`Yardstick: the same bills loaded with COPY in one transaction: ${yardstick} bills/s (compare figures across machines by it).`);
  for (const v of verifyFigures) {
    console.log(`archive verify: ${v.bills} bills ${v.ok ? 'OK' : 'FAILED'} in ${v.seconds.toFixed(2)} s: ${v.inside} bills/s checking, ${v.wall} bills/s with the command's start-up.`);
  }
  const inside = verifyFigures.map((v) => v.inside).sort((a, b) => a - b);
  console.log(`archive verify: median ${inside[Math.floor(inside.length / 2)]} bills/s checking, slowest ${inside[0]} (target: at least 2,000).`);
}

await main();
