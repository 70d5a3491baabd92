/** `npm start -- --demo`: a new user's living system in one command (embedded database, simulator, a year of history). */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArchiveClient } from '../../shared/archive-client';

const BIN = path.resolve(__dirname, '../../bin/archive.mjs');
const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-demo-'));
let child: ChildProcess | undefined;

afterAll(() => {
  child?.kill('SIGKILL');
  fs.rmSync(workdir, { recursive: true, force: true });
});

describe('the demo', () => {
  it('starts with simulated Ledger and Codex and a year of archived bills', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, SERVICE_PORT: '0', LOG_LEVEL: 'warn' };
    for (const k of ['ARCHIVE_DATA_DIR', 'CODEX_URL', 'LEDGER_URL']) delete env[k];
    // A configured database and tokens (from .env, say) are not the demo's: its simulated bills never go there.
    // Some in the environment, some in .env (which the configuration reads without putting it into the environment).
    Object.assign(env, { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/not_the_demos', SERVICE_TOKEN: 'x'.repeat(40) });
    delete env.DATABASE_READ_URL;
    delete env.ADMIN_TOKEN;
    const realKey = path.join(workdir, 'real-signing-key.pem');
    fs.writeFileSync(realKey, crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    fs.writeFileSync(path.join(workdir, '.env'), `ADMIN_TOKEN=${'y'.repeat(40)}\nARCHIVE_SIGNING_KEY_FILE=${realKey}\nARCHIVE_LOG_ORIGIN=archive.example.com/real\n`);
    child = spawn(process.execPath, [BIN, 'serve', '--demo'], { cwd: workdir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not get ready:\n${out}`)), 110_000);
      const onData = (c: Buffer) => {
        out += c.toString();
        const m = /Demo ready at (http:\/\/\S+):/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child!.stdout!.on('data', onData);
      child!.stderr!.on('data', onData);
      child!.on('exit', (code) => reject(new Error(`demo exited with ${code}:\n${out}`)));
    });
    expect(out).toMatch(/2026-10: completed, 39 archived, 1 without a bill|: completed, 39 archived/);
    expect(out).toContain(
      'Demo: DATABASE_URL, SERVICE_TOKEN, ADMIN_TOKEN, ARCHIVE_SIGNING_KEY_FILE, ARCHIVE_LOG_ORIGIN are set but not used: the demo keeps its simulated bills in its own embedded database in',
    );
    const { admin_token: adminToken } = JSON.parse(fs.readFileSync(path.join(workdir, 'data-demo', 'tokens.json'), 'utf8')) as { admin_token: string };
    const admin = new ArchiveClient(url, adminToken);
    expect((await admin.stats()).snapshots).toBe(12 * 39);
    expect((await admin.jobs()).total).toBe(13);
    expect(fs.existsSync(path.join(workdir, 'data'))).toBe(false);
    // Its log is its own: its own key, not the real one, and not the real log's name.
    const key = (await (await fetch(`${url}/api/integrity/key`, { headers: { Authorization: `Bearer ${adminToken}` } })).text()).trim();
    expect(key).not.toMatch(/^archive\.example\.com\/real\+/);
    expect(fs.existsSync(path.join(workdir, 'data-demo', 'signing-key.pem'))).toBe(true);
  }, 120_000);
});
