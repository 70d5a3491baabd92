/** The production path: `npm run build:server` bundles the server, and with NODE_ENV=production `archive serve` runs the bundle. */
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../server/sim/server';
import { ArchiveClient } from '../../shared/archive-client';
import type { Job } from '../../shared/runs';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { ADMIN_TOKEN, SERVICE_TOKEN } from '../helpers/server';

const ROOT = path.resolve(__dirname, '../..');
let db: TestDatabase | undefined;
let sim: Simulator | undefined;
afterAll(async () => {
  await sim?.close();
  await db?.drop();
});

describe('the bundled server', () => {
  it('builds, serves from dist/ without the TypeScript loader, and runs snapshot runs and renders PDFs with its worker threads', async () => {
    execFileSync('npm', ['run', '--silent', 'build:server'], { cwd: ROOT, stdio: 'pipe' });
    db = await freshDatabase();
    sim = await startSimulator({ token: SERVICE_TOKEN, companies: 12 });
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/archive.mjs'), 'serve'], {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        DATABASE_URL: db.url,
        SERVICE_TOKEN,
        ADMIN_TOKEN,
        SERVICE_PORT: '0',
        SCHEDULER: 'off',
        LOG_LEVEL: 'info',
        CODEX_URL: sim.codexUrl,
        LEDGER_URL: sim.ledgerUrl,
        RUN_WORKERS: '2',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(out)), 20_000);
        const on = (c: Buffer) => {
          out += c.toString();
          const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
          if (m) {
            clearTimeout(t);
            resolve(m[1]);
          }
        };
        child.stdout.on('data', on);
        child.stderr.on('data', on);
      });
      const admin = new ArchiveClient(url, ADMIN_TOKEN);
      expect(await admin.health()).toMatchObject({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
      expect(out).not.toMatch(/no build in dist/);

      // Bills are prepared by dist/prepare-worker.js in worker threads.
      const { job_id } = await admin.startRun({ year: 2026, month: 10, dry_run: false });
      let job: Job;
      do {
        await new Promise((r) => setTimeout(r, 50));
        job = await admin.job(job_id);
      } while (job.status === 'running' || job.status === 'pending');
      expect(job.error).toBeNull();
      expect(job.status).toBe('completed');
      expect(job.counts.archived).toBeGreaterThanOrEqual(10);
      expect(job.counts.archived + job.counts.no_bill).toBe(job.counts.total);
      // PDFs are rendered by dist/pdf-worker.js.
      const [first] = (await admin.search({ year: '2026', month: '10', limit: '1' })).results;
      const pdf = await admin.file(first.invoice_number, 'pdf');
      expect(new TextDecoder().decode(pdf.data.subarray(0, 5))).toBe('%PDF-');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
