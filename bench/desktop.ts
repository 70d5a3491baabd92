/**
 * Benchmark of the desktop app's bulk export (issue "Desktop admin app"): 500 bills with 25
 * lines exported as PDFs into a folder by the main process's exporter, the server rendering
 * them, on real PostgreSQL. Target: at least 30 bills/s. Prints figures; asserts nothing.
 * (The first-results-while-typing figure at 100,000 snapshots is measured at the end of the
 * server benchmark, where the archive is that big.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArchiveClient } from '../shared/archive-client';
import { Exporter } from '../desktop/main/exporter';
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

  await server.stop();

  const rows: (string | number)[][] = [['server renders PDFs', 'bills', 'seconds', 'bills/s', 'files', 'manifest rows', 'MB written', 'CPU% bench', 'CPU% server']];
  const workers = Math.min(4, os.availableParallelism()); // PDF_WORKERS's default
  for (const [label, pdfWorkers] of [
    ['on its event loop (PDF_WORKERS=0)', 0],
    [`in ${workers} worker thread${workers > 1 ? 's' : ''} (the default)`, workers],
  ] as const) {
    const renderer = await startServerProcess({ DATABASE_URL: database.url, SERVICE_TOKEN, ADMIN_TOKEN, SCHEDULER: 'off', PDF_WORKERS: String(pdfWorkers) });
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-export-'));
    const exporter = new Exporter({
      dialog: { showSaveDialog: async () => ({ canceled: true }), showOpenDialog: async () => ({ canceled: true, filePaths: [] }) },
      downloadsDir: folder,
      progress: () => undefined,
      concurrency: 6,
    });
    const cpu0 = process.cpuUsage();
    const s0 = renderer.cpuSeconds();
    const t0 = performance.now();
    const r = await exporter.bulkPdf(new ArchiveClient(renderer.url, ADMIN_TOKEN), { year: '2026', month: '10' }, { folder });
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
      Math.round(((renderer.cpuSeconds() - s0) / seconds) * 100),
    ]);
    fs.rmSync(folder, { recursive: true, force: true });
    await renderer.stop();
  }
  console.log(`Bulk PDF export of ${BILLS} bills with 25 lines each (the server renders each PDF, the exporter writes it, then the manifest):`);
  console.log(table(rows));
  console.log('Target: at least 30 bills/s. (A server renders in worker threads, as in the second row.)');
  await database.drop();
}

await main();
