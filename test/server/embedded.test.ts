/**
 * The zero-setup path a new user takes: `npm start` with no DATABASE_URL runs on an embedded
 * PostgreSQL in ./data, migrates it, makes tokens once, serves, and keeps the data.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArchiveClient } from '../../shared/archive-client';
import { fixtureBills } from '../helpers/fixtures';

const BIN = path.resolve(__dirname, '../../bin/archive.mjs');
const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-embedded-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(workdir, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  url: string;
  stdout: () => string;
}

function embeddedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SERVICE_PORT: '0', LOG_LEVEL: 'info' };
  for (const k of ['DATABASE_URL', 'SERVICE_TOKEN', 'ADMIN_TOKEN', 'ARCHIVE_DATA_DIR']) delete env[k];
  return env;
}

function startEmbedded(): Promise<Started> {
  const env = embeddedEnv();
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: workdir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`embedded server did not start:\n${out}`)), 90_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*archive listening/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], stdout: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

describe('embedded database', () => {
  let adminToken = '';
  let serviceToken = '';
  /** Ledger's post of a bill's exact bytes. */
  const post = (url: string, body: string) => new ArchiveClient(url, serviceToken).send('/api/snapshot', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  const bill = fixtureBills().find((b) => b.key === '731118-202601')!;

  it('boots, migrates, prints tokens once, stores them 0600, and serves', async () => {
    const s = await startEmbedded();
    const printed = s.stdout();
    serviceToken = /SERVICE_TOKEN=(\S+)/.exec(printed)![1];
    adminToken = /ADMIN_TOKEN=(\S+)/.exec(printed)![1];
    expect(serviceToken.length).toBeGreaterThanOrEqual(24);
    const tokensFile = path.join(workdir, 'data', 'tokens.json');
    expect(fs.statSync(tokensFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(tokensFile, 'utf8'))).toMatchObject({ service_token: serviceToken, admin_token: adminToken });

    expect(await new ArchiveClient(s.url, undefined).health()).toMatchObject({ status: 'ok', service: 'archive' });
    expect((await post(s.url, bill.rawBody)).status).toBe(201);
    const got = await new ArchiveClient(s.url, adminToken).snapshot(bill.body.invoice_number);
    expect(got).toMatchObject({ company_name: 'Müller & Söhne GmbH', total_amount: '1906.22' });
    expect(await stop(s.child)).toBe(0);
  }, 120_000);

  it('keeps the data and the tokens across a restart, without printing them again', async () => {
    const s = await startEmbedded();
    expect(s.stdout()).not.toMatch(/SERVICE_TOKEN=/);
    const got = await new ArchiveClient(s.url, serviceToken).file(bill.body.invoice_number, 'csv');
    expect(new TextDecoder().decode(got.data)).toBe(bill.body.invoice_csv);
    expect((await post(s.url, bill.rawBody)).status).toBe(409);
    expect(await stop(s.child)).toBe(0);
  }, 120_000);

  it('belongs to one process: a second one is refused, naming the first; a lock left by a killed server is taken over', async () => {
    const s = await startEmbedded();
    const lock = path.join(workdir, 'data', 'pgdata.lock');
    expect(JSON.parse(fs.readFileSync(lock, 'utf8'))).toMatchObject({ pid: s.child.pid, command: 'serve' });
    const second = spawnSync(process.execPath, [BIN, 'init-db'], { cwd: workdir, env: embeddedEnv(), encoding: 'utf8', timeout: 60_000 });
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(`is in use by process ${s.child.pid} (archive serve`);
    // The verifier key meanwhile: from the server.
    const key = spawnSync(process.execPath, [BIN, 'integrity', 'key'], { cwd: workdir, env: embeddedEnv(), encoding: 'utf8', timeout: 60_000 });
    expect(key.status).toBe(1);
    expect(key.stderr).toContain('While it runs, GET /api/integrity/key (any token) gives the verifier key.');
    // The server is untouched and still serves.
    expect(await new ArchiveClient(s.url, adminToken).snapshot(bill.body.invoice_number)).toMatchObject({ invoice_number: bill.body.invoice_number });

    // SIGKILL leaves the lock file behind; the next start takes it over and finds the data.
    await new Promise((resolve) => {
      s.child.once('exit', resolve);
      s.child.kill('SIGKILL');
    });
    expect(fs.existsSync(lock)).toBe(true);
    const again = await startEmbedded();
    expect(JSON.parse(fs.readFileSync(lock, 'utf8')).pid).toBe(again.child.pid);
    expect(await new ArchiveClient(again.url, adminToken).snapshot(bill.body.invoice_number)).toMatchObject({ invoice_number: bill.body.invoice_number });
    expect(await stop(again.child)).toBe(0);
    expect(fs.existsSync(lock)).toBe(false);
  }, 180_000);
});
