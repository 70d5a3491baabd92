/**
 * Benchmark of `archive import-legacy` (issue "Operations"): the same Ledger-shaped bills
 *  (a) posted one by one to a running server at concurrency 8 (the way in without an import),
 *  (b) imported from a database in the earlier Archive's schema by the built command,
 *  (c) loaded with COPY in one transaction (the machine's yardstick; and into columns compressed as ours),
 * each into a fresh database; prints the three and the import's speed-up over posting
 * (target: at least 3x). Asserts nothing.
 *
 *   BENCH_IMPORT_BILLS=4000 BENCH_CONCURRENCY=8
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../server/db/database';
import { insertLegacyBills, LEGACY_SCHEMA } from '../test/helpers/legacy';
import { adminQuery, databaseUrl } from '../test/helpers/pg';
import { benchBill } from './bills';
import { ADMIN_TOKEN, ADMIN_URL, freshBenchDatabase, SERVICE_TOKEN } from './lib/db';
import { runLoad } from './lib/load';
import { startServerProcess } from './lib/server-process';
import { copyYardstick } from './lib/yardstick';

const BILLS = Number(process.env.BENCH_IMPORT_BILLS ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const BIN = path.resolve(import.meta.dirname, '../bin/archive.mjs');

const bills = () => {
  const out: Record<string, unknown>[] = [];
  const companies = Math.ceil(BILLS / 10);
  for (let m = 1; m <= 10; m++) for (let c = 0; c < companies && out.length < BILLS; c++) out.push(benchBill(c, 2025, m));
  return out;
};

/** Each way starts with PostgreSQL's dirty pages written (a checkpoint), not with the previous way's still being flushed. */
const settled = () => adminQuery('CHECKPOINT', ADMIN_URL);

async function posting(list: string[]): Promise<number> {
  const database = await freshBenchDatabase('archive_bench_import_post');
  await settled();
  const server = await startServerProcess({ DATABASE_URL: database.url, SERVICE_TOKEN, ADMIN_TOKEN, DATABASE_POOL_MAX: '10' });
  let i = 0;
  const load = await runLoad({
    baseUrl: server.url,
    concurrency: CONCURRENCY,
    next: () =>
      i < list.length
        ? { kind: 'POST', path: '/api/snapshot', method: 'POST', headers: { Authorization: `Bearer ${SERVICE_TOKEN}`, 'Content-Type': 'application/json' }, body: list[i++], expect: [201] }
        : undefined,
  });
  await server.stop();
  await database.drop();
  return Math.round(load.completed / load.seconds);
}

async function importing(legacyUrl: string): Promise<{ billsPerSecond: number; started: number; imported: number; yardstick: number; yardstickLz4: number }> {
  const database = await freshBenchDatabase('archive_bench_import_into');
  await settled();
  const t0 = performance.now();
  const out = execFileSync(process.execPath, [BIN, 'import-legacy', '--from', legacyUrl, '--json'], {
    env: { ...process.env, NODE_ENV: 'production', DATABASE_URL: database.url, SERVICE_TOKEN, ADMIN_TOKEN, ARCHIVE_DATA_DIR: path.join(os.tmpdir(), 'archive-bench-data') },
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  const seconds = (performance.now() - t0) / 1000;
  const report = JSON.parse(out);
  const yardstick = copyYardstick(database.url, BILLS);
  const yardstickLz4 = copyYardstick(database.url, BILLS, { ourCompression: true });
  await database.drop();
  // report.seconds: the import's own time, from its connections to its commit.
  return { billsPerSecond: Math.round(report.imported / seconds), started: Math.round(report.imported / report.seconds), imported: report.imported, yardstick, yardstickLz4 };
}

async function main() {
  console.log(`\nLegacy import benchmark — ${os.cpus().length} cores, node ${process.version}`);
  console.log(`${BILLS} Ledger-shaped bills (25 line items each), each way into a fresh database`);
  const list = bills();
  const legacyName = 'archive_bench_legacy';
  await adminQuery(`DROP DATABASE IF EXISTS ${legacyName} WITH (FORCE)`, ADMIN_URL);
  await adminQuery(`CREATE DATABASE ${legacyName}`, ADMIN_URL);
  const legacyUrl = databaseUrl(legacyName, ADMIN_URL);
  const legacy = await openDatabase({ databaseUrl: legacyUrl, dataDir: '/nonexistent', poolMax: 2 });
  await legacy.knex.raw(LEGACY_SCHEMA);
  for (let i = 0; i < list.length; i += 500)
    await insertLegacyBills(
      legacy.knex,
      list.slice(i, i + 500).map((body) => ({ body: body as Record<string, unknown> })),
    );
  // As an old database in service is: vacuumed and analysed (its rows' hint bits set), not just written.
  await legacy.knex.raw('VACUUM ANALYZE');
  await legacy.close();

  const posted = await posting(list.map((b) => JSON.stringify(b)));
  const imported = await importing(legacyUrl);
  await adminQuery(`DROP DATABASE IF EXISTS ${legacyName} WITH (FORCE)`, ADMIN_URL);
  console.log(`(a) posted one by one at concurrency ${CONCURRENCY}: ${posted} bills/s`);
  console.log(`(b) archive import-legacy (the built command, start-up included): ${imported.billsPerSecond} bills/s (${imported.imported} imported; ${imported.started} bills/s once started)`);
  console.log(`(c) COPY in one transaction (yardstick): ${imported.yardstick} bills/s; into columns compressed as ours (lz4): ${imported.yardstickLz4} bills/s`);
  console.log(`Import vs posting: ${(imported.billsPerSecond / posted).toFixed(2)}x (target: at least 3x).`);
}

await main();
