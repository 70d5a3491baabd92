/**
 * Benchmark of the desktop app's bulk export (issue "Desktop admin app"): 500 bills with 25
 * lines exported as PDFs into a folder by the main process's exporter, against a server on
 * real PostgreSQL. Target: at least 30 bills/s. Prints figures; asserts nothing.
 * (The first-results-while-typing figure at 100,000 snapshots is measured at the end of the
 * server benchmark, where the archive is that big.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArchiveClient } from '../shared/archive-client';
import { Exporter } from '../desktop/main/exporter';
import { PdfPool } from '../desktop/main/pdf-pool';
import { benchBill } from './bills';
import { ADMIN_TOKEN, freshBenchDatabase, SERVICE_TOKEN } from './lib/db';
import { runLoad } from './lib/load';
import { startServerProcess } from './lib/server-process';
import { table } from './lib/stats';

const BILLS = Number(process.env.BENCH_EXPORT_BILLS ?? 500);

async function main() {
  console.log(`\nDesktop bulk export benchmark — ${os.cpus().length} cores, node ${process.version}`);
  const database = await freshBenchDatabase('archive_bench_desktop');
  const server = await startServerProcess({ DATABASE_URL: database.url, SERVICE_TOKEN, ADMIN_TOKEN, SCHEDULER: 'off' });
  const bodies = Array.from({ length: BILLS }, (_, i) => JSON.stringify(benchBill(i, 2026, 10)));
  let i = 0;
  await runLoad({
    baseUrl: server.url,
    concurrency: 8,
    next: () =>
      i < bodies.length
        ? { kind: 'post', path: '/api/snapshot', method: 'POST', headers: { Authorization: `Bearer ${SERVICE_TOKEN}`, 'Content-Type': 'application/json' }, body: bodies[i++], expect: [201] }
        : undefined,
  });

  const rows: (string | number)[][] = [['rendering', 'bills', 'seconds', 'bills/s', 'files', 'manifest rows', 'MB written', 'CPU% bench', 'CPU% server']];
  const workers = Math.max(1, Math.min(4, os.availableParallelism()));
  const pool = new PdfPool(workers, new URL('./lib/pdf-worker-tsx.mjs', import.meta.url));
  for (const [label, concurrency, renderPdf] of [
    ['in-process', 4, undefined],
    [`${workers} worker threads`, 6, (b: Parameters<typeof pool.render>[0]) => pool.render(b)],
  ] as const) {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-export-'));
    const exporter = new Exporter({
      dialog: { showSaveDialog: async () => ({ canceled: true }), showOpenDialog: async () => ({ canceled: true, filePaths: [] }) },
      downloadsDir: folder,
      progress: () => undefined,
      concurrency,
      renderPdf,
    });
    const cpu0 = process.cpuUsage();
    const s0 = server.cpuSeconds();
    const t0 = performance.now();
    const r = await exporter.bulkPdf(new ArchiveClient(server.url, ADMIN_TOKEN), { year: '2026', month: '10' }, { folder });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (r.state !== 'done') throw new Error(`export ${label}: ${r.state}: ${r.error}`);
    const files = fs.readdirSync(folder).filter((f) => f.endsWith('.pdf'));
    const bytes = files.reduce((s, f) => s + fs.statSync(path.join(folder, f)).size, 0);
    const manifestRows = fs.readFileSync(r.manifest!, 'utf8').trim().split('\n').length - 1;
    rows.push([
      label,
      BILLS,
      Math.round(seconds * 10) / 10,
      Math.round(BILLS / seconds),
      files.length,
      manifestRows,
      Math.round(bytes / 1e5) / 10,
      Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 100),
      Math.round(((server.cpuSeconds() - s0) / seconds) * 100),
    ]);
    fs.rmSync(folder, { recursive: true, force: true });
  }
  console.log(`Bulk PDF export of ${BILLS} bills with 25 lines each (fetch each bill from the server, render, write, manifest):`);
  console.log(table(rows));
  console.log('Target: at least 30 bills/s. (The app renders in worker threads, as in the second row.)');
  await pool.close();
  await server.stop();
  await database.drop();
}

await main();
