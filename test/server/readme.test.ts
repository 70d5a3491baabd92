/**
 * The README's first commands, as written, in a fresh clone: the tracked files alone (no
 * data/, no .env, no build), with this checkout's node_modules standing in for `npm ci` (CI runs
 * that itself, first). `npm start` from the first block, then the "Try it" block of curl
 * commands word for word against it: the bill is archived, read back, and its CSV downloaded.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const blocks = [...README.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
const hasCurl = spawnSync('curl', ['--version']).status === 0;
const children: ChildProcess[] = [];
const clone = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-clone-'));

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(clone, { recursive: true, force: true });
});

/** The commands of a block, comments and blank lines left out. */
const commands = (block: string) =>
  block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s+#\s.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'));

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer().once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

describe.skipIf(!hasCurl)("the README's first commands in a fresh clone", () => {
  it('npm start serves on an embedded database, and the curl example archives, reads and downloads the bill', { timeout: 180_000 }, async () => {
    const first = commands(blocks[0]);
    expect(first).toEqual(['npm ci', 'npm start', 'npm test']);
    const tryIt = blocks.find((b) => b.includes('curl -s -X POST'))!;
    expect(tryIt).toBeDefined();

    // A fresh clone: exactly the files git tracks.
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const f of files) {
      const from = path.join(ROOT, f);
      if (!fs.existsSync(from)) continue; // deleted in this working tree
      fs.mkdirSync(path.dirname(path.join(clone, f)), { recursive: true });
      fs.copyFileSync(from, path.join(clone, f));
    }
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'));
    expect(fs.existsSync(path.join(clone, 'data'))).toBe(false);

    // The README says port 5012; it must be free for the example to run as written.
    expect(await portFree(5012), 'port 5012 is taken: the README example needs it').toBe(true);
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' };
    for (const k of ['DATABASE_URL', 'SERVICE_TOKEN', 'ADMIN_TOKEN', 'ARCHIVE_DATA_DIR', 'SERVICE_PORT', 'NODE_ENV']) delete env[k];
    const server = spawn('bash', ['-c', first[1]], { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.push(server);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not come up:\n${out}`)), 120_000);
      const on = (c: Buffer) => {
        out += c.toString();
        if (/archive listening/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      server.stdout!.on('data', on);
      server.stderr!.on('data', on);
      server.on('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${out}`)));
    });
    try {
      expect(out).toMatch(/SERVICE_TOKEN=\S{24,}/);
      const r = spawnSync('bash', ['-euo', 'pipefail', '-c', tryIt], { cwd: clone, env, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      const [created, ...rest] = r.stdout.split('}{');
      expect(JSON.parse(`${created}}`)).toMatchObject({ invoice_number: '731118-202601', message: expect.any(String) });
      expect(rest.join('}{')).toContain('"company_name":"Müller & Söhne GmbH"');
      const csv = fs.readdirSync(clone).filter((f) => f.endsWith('.csv'));
      expect(csv).toHaveLength(1);
      const posted = JSON.parse(fs.readFileSync(path.join(clone, 'test/fixtures/ledger/snapshot/731118-202601.json'), 'utf8')) as { invoice_csv: string };
      expect(fs.readFileSync(path.join(clone, csv[0]), 'utf8')).toBe(posted.invoice_csv);
    } finally {
      process.kill(-server.pid!, 'SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
  });
});
