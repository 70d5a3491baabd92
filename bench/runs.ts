/**
 * Benchmark of snapshot runs (issue "Snapshot runs"): a real run over 2,000 simulated
 * companies with 25 ms latency per Ledger call at concurrency 8, against real PostgreSQL.
 * The ideal is 2,000 x 25 ms / 8 = 6.25 s; the target is within 1.3x of it with the server's
 * memory flat over the run. Then a dry run of the same month (everything already archived).
 * Prints figures; asserts nothing.
 *
 *   BENCH_DATABASE_URL   admin connection (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_RUN_COMPANIES=2000 BENCH_RUN_LATENCY_MS=25 BENCH_RUN_CONCURRENCY=8
 */
import os from 'node:os';
import { startSimulator } from '../server/sim/server';
import { ArchiveClient } from '../shared/archive-client';
import type { Job } from '../shared/runs';
import { ADMIN_TOKEN, freshBenchDatabase, SERVICE_TOKEN } from './lib/db';
import { postgresCpuSeconds } from './lib/load';
import { startServerProcess } from './lib/server-process';
import { ms, summarise, table } from './lib/stats';

const COMPANIES = Number(process.env.BENCH_RUN_COMPANIES ?? 2000);
const LATENCY = Number(process.env.BENCH_RUN_LATENCY_MS ?? 25);
const CONCURRENCY = Number(process.env.BENCH_RUN_CONCURRENCY ?? 8);

async function main() {
  console.log(`\nSnapshot run benchmark — ${os.cpus().length} cores, node ${process.version}`);
  const database = await freshBenchDatabase('archive_bench_runs');

  const sim = await startSimulator({ companies: COMPANIES, latencyMs: LATENCY, token: SERVICE_TOKEN, seed: 'bench' });
  const server = await startServerProcess({ DATABASE_URL: database.url, SERVICE_TOKEN, ADMIN_TOKEN, CODEX_URL: sim.codexUrl, LEDGER_URL: sim.ledgerUrl, SCHEDULER: 'off' });
  const admin = new ArchiveClient(server.url, ADMIN_TOKEN);

  const ideal = (COMPANIES * LATENCY) / CONCURRENCY / 1000;
  const rows: (string | number)[][] = [
    [
      'run',
      'companies',
      'wall s (seen by client)',
      'ideal s',
      'x ideal',
      'archived',
      'would',
      'already',
      'no bill',
      'failed',
      'company p50 ms',
      'p95 ms',
      'CPU% server',
      'CPU% postgres',
      'CPU% sim+bench',
      'RSS before MB',
      'RSS at 25/50/75/100% of the run MB',
      'RSS max MB',
    ],
  ];
  for (const dryRun of [false, true]) {
    const cpu0 = server.cpuSeconds();
    const sim0 = process.cpuUsage();
    const pg0 = postgresCpuSeconds();
    const rss0 = server.rssMb();
    const stopRss = server.sampleRss(100);
    const t0 = performance.now();
    const { job_id } = await admin.startRun({ year: 2026, month: 10, dry_run: dryRun, concurrency: CONCURRENCY });
    let job: Job;
    for (;;) {
      job = await admin.job(job_id, { per_page: 1 });
      if (job.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const observed = (performance.now() - t0) / 1000;
    // The server's own clock for the run (start claimed to last outcome recorded); polling adds up to 0.25 s to `observed`.
    const wall = (Date.parse(job.completed_at!) - Date.parse(job.created_at)) / 1000;
    const rss = stopRss();
    const cpu = server.cpuSeconds() - cpu0;
    const pgCpu = postgresCpuSeconds() - pg0;
    const simCpu = (({ user, system }) => (user + system) / 1e6)(process.cpuUsage(sim0));
    const items = (await admin.job(job_id, { per_page: 1000 })).items.items;
    const durations = summarise(items.map((i) => i.duration_ms ?? 0));
    const c = job.counts;
    rows.push([
      dryRun ? 'dry (all archived)' : 'real',
      c.total,
      `${ms(wall)} (${ms(observed)})`,
      ms(ideal),
      Math.round((wall / ideal) * 100) / 100,
      c.archived,
      c.would_archive,
      c.already_archived,
      c.no_bill,
      c.failed,
      durations.p50,
      durations.p95,
      Math.round((100 * cpu) / wall),
      Math.round((100 * pgCpu) / wall),
      Math.round((100 * simCpu) / observed),
      Math.round(rss0),
      [0.25, 0.5, 0.75, 1].map((q) => Math.round(rss[Math.min(rss.length - 1, Math.floor(q * rss.length))] ?? rss0)).join(' / '),
      Math.round(Math.max(rss0, ...rss)),
    ]);
    console.log(`  ${dryRun ? 'dry' : 'real'}: per company, mean ms: ${JSON.stringify(job.timings)}`);
    if (job.status !== 'completed') console.log(`  job ${job_id} ended ${job.status}: ${job.error}`);
  }
  console.log(`Real run then dry run of 2026-10: ${COMPANIES} simulated companies, ${LATENCY} ms per Ledger call, concurrency ${CONCURRENCY} (ideal = companies x latency / concurrency)`);
  console.log(table(rows));
  console.log('Target: real run within 1.3x of the ideal, server memory flat over the run (RSS before is the idle server, before the first run starts its worker thread).');
  await server.stop();
  await sim.close();
  await database.drop();
}

await main();
