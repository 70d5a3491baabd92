/**
 * The search at scale (issue "Operations"): the database grown to 100,000 and then 1,000,000
 * bills, each made as Ledger would post it and prepared exactly as the API prepares it
 * (normalised, checked, canonical text, content hash: a sample is recomputed from the rows and
 * must match), bulk-loaded with COPY; at each size the search mix runs against the built
 * server and its per-endpoint p95 is printed side by side. Asserts nothing.
 * The bills are loaded with the triggers off (their leaves are not in the log: this measures
 * the search, not the log), then the counters are set as the trigger would have.
 *
 * With BENCH_SCALE_PARTITION=1, the largest database is then partitioned by year by the built
 * `archive partition-by-year` (its time printed) and the mix runs once more: a third column.
 *
 *   BENCH_SCALE_SIZES=100000,1000000 BENCH_SCALE_COMPANIES=10000 BENCH_SCALE_SECONDS=20 BENCH_CONCURRENCY=8 BENCH_SCALE_PARTITION=0
 */
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import os from 'node:os';
import { Piscina } from 'piscina';
import { invoiceNumberFor } from '../shared/period';
import { recompute } from '../test/helpers/recompute';
import { benchAccount } from './bills';
import { ADMIN_TOKEN, freshBenchDatabase, SERVICE_TOKEN } from './lib/db';
import { runLoad, type LoadRequest } from './lib/load';
import { LINE_COLUMNS, SNAPSHOT_COLUMNS, type ScaleTask } from './lib/scale-worker';
import { startServerProcess } from './lib/server-process';
import { ms, summarise, table } from './lib/stats';

const SIZES = (process.env.BENCH_SCALE_SIZES ?? '100000,1000000').split(',').map(Number);
const COMPANIES = Number(process.env.BENCH_SCALE_COMPANIES ?? 10_000);
const SECONDS = Number(process.env.BENCH_SCALE_SECONDS ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PARTITION = process.env.BENCH_SCALE_PARTITION === '1';
const BIN = path.resolve(import.meta.dirname, '../bin/archive.mjs');
const CHUNK = 500;
const PERIODS = Math.ceil(Math.max(...SIZES) / COMPANIES);
const LAST = 2026 * 12 + 9;
const FIRST = LAST - (PERIODS - 1);

/** A COPY ... FROM STDIN through psql: write rows, then end. */
function copyIn(url: string, table: string, columns: readonly string[]) {
  const child = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', url, '-c', `\\copy ${table} (${columns.join(', ')}) FROM STDIN`], { stdio: ['pipe', 'inherit', 'inherit'] });
  const done = new Promise<void>((resolve, reject) => child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`psql \\copy ${table} exited ${code}`)))));
  return {
    write: (text: string) => new Promise<void>((resolve) => (child.stdin.write(text) ? resolve() : child.stdin.once('drain', resolve))),
    end: async () => {
      child.stdin.end();
      await done;
    },
  };
}

async function load(url: string, knex: import('knex').Knex, from: number, to: number): Promise<number> {
  const t0 = performance.now();
  await knex.raw('ALTER TABLE billing_snapshots DISABLE TRIGGER ALL');
  await knex.raw('ALTER TABLE snapshot_line_items DISABLE TRIGGER ALL');
  const pool = new Piscina<ScaleTask, { bills: string; lines: string }>({ filename: new URL('./lib/scale-worker-tsx.mjs', import.meta.url).href, maxThreads: os.availableParallelism() });
  const bills = copyIn(url, 'billing_snapshots', SNAPSHOT_COLUMNS);
  const lines = copyIn(url, 'snapshot_line_items', LINE_COLUMNS);
  const tasks: Promise<{ bills: string; lines: string }>[] = [];
  let next = from;
  const more = () => {
    while (tasks.length < 2 * os.availableParallelism() && next < to) {
      tasks.push(pool.run({ from: next, to: Math.min(to, next + CHUNK), companies: COMPANIES, firstPeriod: FIRST }));
      next += CHUNK;
    }
  };
  more();
  let done = from;
  let shown = Date.now();
  while (tasks.length) {
    const r = await tasks.shift()!;
    more();
    await Promise.all([bills.write(r.bills), lines.write(r.lines)]);
    done = Math.min(to, done + CHUNK);
    if (Date.now() - shown > 15_000) {
      shown = Date.now();
      console.log(`  loaded ${done} of ${to} bills (${Math.round((done - from) / ((performance.now() - t0) / 1000))} bills/s)`);
    }
  }
  await Promise.all([bills.end(), lines.end()]);
  await pool.destroy();
  await knex.raw('ALTER TABLE billing_snapshots ENABLE TRIGGER ALL');
  await knex.raw('ALTER TABLE snapshot_line_items ENABLE TRIGGER ALL');
  await knex.raw(`SELECT setval('billing_snapshots_id_seq', ?)`, [to]);
  // What the counting trigger would have added.
  await knex.raw(`INSERT INTO archive_counters (name, slot, value) VALUES ('billing_snapshots', 0, ?) ON CONFLICT (name, slot) DO UPDATE SET value = archive_counters.value + EXCLUDED.value`, [
    to - from,
  ]);
  await knex.raw('VACUUM ANALYZE billing_snapshots');
  await knex.raw('VACUUM ANALYZE snapshot_line_items');
  return (performance.now() - t0) / 1000;
}

async function searchMix(url: string, size: number): Promise<Map<string, number[]>> {
  const periods = Math.ceil(size / COMPANIES);
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  // Only what is loaded at this size: bill i is company i % COMPANIES in period FIRST + floor(i / COMPANIES).
  const bill = () => {
    const i = rand(size);
    const k = FIRST + Math.floor(i / COMPANIES);
    return invoiceNumberFor(benchAccount(i % COMPANIES), Math.floor(k / 12), (k % 12) + 1);
  };
  const account = () => benchAccount(rand(Math.min(size, COMPANIES)));
  const period = () => FIRST + rand(periods);
  const mix: (() => LoadRequest)[] = [
    () => ({ kind: 'search by account', path: `/api/snapshots/search?account_number=${account()}`, expect: [200] }),
    () => {
      const k = period();
      return { kind: 'search by year+month', path: `/api/snapshots/search?year=${Math.floor(k / 12)}&month=${(k % 12) + 1}&limit=100`, expect: [200] };
    },
    () => ({ kind: '20 most recent', path: `/api/snapshots/search?limit=20`, expect: [200] }),
    () => ({ kind: 'company name', path: `/api/snapshots/search?company=${encodeURIComponent(['Harbor', 'Quantum', 'Müller', 'Summit', 'Évora'][rand(5)])}&limit=50`, expect: [200] }),
    () => ({ kind: 'company history', path: `/api/snapshots/company/${account()}`, expect: [200] }),
    () => ({ kind: 'get by invoice', path: `/api/snapshot/${bill()}`, expect: [200] }),
    () => ({ kind: 'CSV', path: `/api/snapshot/${bill()}/csv`, expect: [200] }),
  ];
  let k = 0;
  const r = await runLoad({ baseUrl: url, concurrency: CONCURRENCY, maxMs: SECONDS * 1000, next: () => ({ ...mix[k++ % mix.length](), headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } }) });
  const errors = [...r.errors.values()].reduce((a, b) => a + b, 0);
  console.log(`  search mix at ${size}: ${Math.round(r.completed / r.seconds)} req/s, ${errors} errors${errors ? ` ${JSON.stringify(Object.fromEntries(r.errors))}` : ''}`);
  return r.byKind;
}

/** The search mix against the built server on `url`, after a first pass that warms the caches. */
async function measure(url: string, size: number): Promise<Map<string, number[]>> {
  const server = await startServerProcess({ DATABASE_URL: url, SERVICE_TOKEN, ADMIN_TOKEN, DATABASE_POOL_MAX: '10', SCHEDULER: 'off' });
  try {
    await searchMix(server.url, size);
    return await searchMix(server.url, size);
  } finally {
    await server.stop();
  }
}

async function main() {
  console.log(
    `\nSearch at scale — ${os.cpus().length} cores, node ${process.version}: ${SIZES.join(', ')} bills (${COMPANIES} companies, ${PERIODS} months), search mix ${SECONDS} s at concurrency ${CONCURRENCY}`,
  );
  const database = await freshBenchDatabase('archive_bench_scale');
  const knex = database.db.knex;
  const results: { label: string; byKind: Map<string, number[]> }[] = [];
  let loaded = 0;
  for (const size of SIZES) {
    const seconds = await load(database.url, knex, loaded, size);
    loaded = size;
    // What was loaded is what the API would have stored: a sample's hash recomputed from the rows.
    for (let s = 0; s < 50; s++) {
      const id = 1 + Math.floor(Math.random() * size);
      const { content_hash } = await knex('billing_snapshots').where('id', id).first('content_hash');
      if ((await recompute(knex, id)) !== content_hash) throw new Error(`bill ${id}: its stored hash does not recompute`);
    }
    const { rows } = await knex.raw('SELECT pg_database_size(current_database())::bigint AS b');
    console.log(`  ${size} bills loaded (${seconds.toFixed(0)} s for this step), 50 sampled hashes recompute; database ${(Number(rows[0].b) / 2 ** 30).toFixed(1)} GB`);
    results.push({ label: `${size.toLocaleString('en')} bills`, byKind: await measure(database.url, size) });
  }
  if (PARTITION) {
    const t0 = performance.now();
    const out = execFileSync(process.execPath, [BIN, 'partition-by-year', ...(process.env.BENCH_SCALE_PARTITION_THROUGH ? ['--through', process.env.BENCH_SCALE_PARTITION_THROUGH] : [])], {
      env: { ...process.env, NODE_ENV: 'production', DATABASE_URL: database.url, SERVICE_TOKEN, ADMIN_TOKEN },
      encoding: 'utf8',
    });
    const seconds = (performance.now() - t0) / 1000;
    const { rows } = await knex.raw('SELECT pg_database_size(current_database())::bigint AS b');
    console.log(`  archive partition-by-year at ${loaded} bills: ${seconds.toFixed(0)} s (ANALYZE included); database ${(Number(rows[0].b) / 2 ** 30).toFixed(1)} GB\n  ${out.split('\n')[0]}`);
    results.push({ label: `${loaded.toLocaleString('en')}, by year`, byKind: await measure(database.url, loaded) });
  }
  await database.drop();
  const kinds = [...results[0].byKind.keys()];
  console.log(
    table([
      ['p95 ms (p50)', ...results.map((r) => r.label)],
      ...kinds.map((k) => [
        k,
        ...results.map((r) => {
          const s = summarise(r.byKind.get(k) ?? []);
          return `${ms(s.p95)} (${ms(s.p50)})`;
        }),
      ]),
    ]),
  );
}

await main();
