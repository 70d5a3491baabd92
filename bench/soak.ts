/**
 * The soak (issue "Operations"): 200 concurrent clients for 60 seconds of mixed reads and
 * writes (bench/lib/soak.ts) against the built server on a database seeded with 2,000 bills;
 * prints throughput, p99 overall and per kind, and the errors (target: zero).
 *
 *   BENCH_SOAK_CLIENTS=200 BENCH_SOAK_SECONDS=60 BENCH_SOAK_SEED=2000
 */
import os from 'node:os';
import { benchBill } from './bills';
import { ADMIN_TOKEN, freshBenchDatabase, SERVICE_TOKEN } from './lib/db';
import { runLoad } from './lib/load';
import { startServerProcess } from './lib/server-process';
import { runSoak } from './lib/soak';
import { ms, table } from './lib/stats';

const CLIENTS = Number(process.env.BENCH_SOAK_CLIENTS ?? 200);
const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 60);
const SEED = Number(process.env.BENCH_SOAK_SEED ?? 2000);

async function main() {
  console.log(`\nSoak — ${os.cpus().length} cores, node ${process.version}: ${CLIENTS} clients for ${SECONDS} s on ${SEED} bills`);
  const database = await freshBenchDatabase('archive_bench_soak');
  const server = await startServerProcess({ DATABASE_URL: database.url, SERVICE_TOKEN, ADMIN_TOKEN, DATABASE_POOL_MAX: '10' });
  const seed: string[] = [];
  let i = 0;
  const companies = Math.ceil(SEED / 10);
  const bodies: string[] = [];
  for (let m = 1; m <= 10; m++) for (let c = 0; c < companies && bodies.length < SEED; c++) bodies.push(JSON.stringify(benchBill(c, 2025, m)));
  for (const b of bodies) seed.push((JSON.parse(b) as { invoice_number: string }).invoice_number);
  await runLoad({
    baseUrl: server.url,
    concurrency: 8,
    next: () =>
      i < bodies.length
        ? { kind: 'seed', path: '/api/snapshot', method: 'POST', headers: { Authorization: `Bearer ${SERVICE_TOKEN}`, 'Content-Type': 'application/json' }, body: bodies[i++], expect: [201] }
        : undefined,
  });
  const r = await runSoak({ url: server.url, serviceToken: SERVICE_TOKEN, readToken: ADMIN_TOKEN, clients: CLIENTS, seconds: SECONDS, invoices: seed, firstCompany: companies + 1 });
  await server.stop();
  await database.drop();
  console.log(table([['kind', 'requests', 'p50 ms', 'p99 ms'], ...r.byKind.map((k) => [k.kind, k.count, ms(k.p50), ms(k.p99)])]));
  console.log(
    `${r.load.completed} requests in ${r.load.seconds.toFixed(1)} s: ${r.requestsPerSecond} req/s, p99 ${ms(r.p99)} ms, ${r.errors} errors${r.errors ? ` (${[...r.load.errors.entries()].map(([k, v]) => `${k} x${v}`).join(', ')})` : ''} (target: zero).`,
  );
}

await main();
