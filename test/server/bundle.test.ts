/** The production path: `npm run build:server` bundles the server, and with NODE_ENV=production `archive serve` runs the bundle. */
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { ADMIN_TOKEN, SERVICE_TOKEN } from '../helpers/server';

const ROOT = path.resolve(__dirname, '../..');
let db: TestDatabase | undefined;
afterAll(() => db?.drop());

describe('the bundled server', () => {
  it('builds, and serves from dist/ without the TypeScript loader', async () => {
    execFileSync('npm', ['run', '--silent', 'build:server'], { cwd: ROOT, stdio: 'pipe' });
    db = await freshDatabase();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/archive.mjs'), 'serve'], {
      env: { ...process.env, NODE_ENV: 'production', DATABASE_URL: db.url, SERVICE_TOKEN, ADMIN_TOKEN, SERVICE_PORT: '0', SCHEDULER: 'off', LOG_LEVEL: 'info' },
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
      const health = (await (await fetch(`${url}/health`)).json()) as { status: string; version: string };
      expect(health).toMatchObject({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
      expect(out).not.toMatch(/no build in dist/);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
