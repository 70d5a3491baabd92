/**
 * `archive doctor` on a live installation (a real server, PostgreSQL, the Ledger and Codex
 * simulator): every finding OK / WARN / FAIL with what to do, and the exit code by the worst;
 * and each kind of trouble named: a disabled trigger, an unreachable database or peer, a weak
 * token, a configuration that does not load, a failed restore check.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupCommand } from '../../server/cli/backup';
import { doctorCommand } from '../../server/cli/doctor';
import { runDoctor, exitCodeOf, type Finding } from '../../server/ops/doctor';
import { startRunWorld, type RunWorld } from '../helpers/runs';
import { ADMIN_TOKEN, SERVICE_TOKEN, testConfig } from '../helpers/server';
import { integrated } from '../helpers/integrity';

let world: RunWorld;
let backupDir: string;
let cwd: string;

const env = (over: Record<string, string> = {}) => ({
  SERVICE_PORT: '0',
  SERVICE_TOKEN,
  ADMIN_TOKEN,
  LOG_LEVEL: 'silent',
  ARCHIVE_TIMEZONE: 'UTC',
  ARCHIVE_DATA_DIR: path.join(os.tmpdir(), 'archive-test-data'),
  DATABASE_URL: world.server.database.url,
  CODEX_URL: world.sim.codexUrl,
  LEDGER_URL: world.sim.ledgerUrl,
  BACKUP_DIR: backupDir,
  ...over,
});
const config = (over: Record<string, string> = {}) => testConfig(env(over));
const line = (fs: Finding[], area: string, re: RegExp) => fs.find((f) => f.area === area && re.test(f.message));

beforeAll(async () => {
  world = await startRunWorld();
  backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-backups-'));
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-cwd-'));
  const job = await world.runToEnd({ year: 2025, month: 1, dry_run: false });
  expect(job.status).toBe('completed');
  await integrated(world.server);
}, 120_000);
afterAll(async () => {
  await world?.stop();
});

describe('archive doctor', () => {
  it('checks a working installation line by line, with what to do for each warning', async () => {
    const f = await runDoctor(config(), { cwd });
    expect(line(f, 'database', /answers$/)?.status, JSON.stringify(f, null, 1)).toBe('OK');
    expect(line(f, 'schema', /migrated to the latest version/)?.status).toBe('OK');
    expect(line(f, 'schema', /triggers that keep archived rows immutable and feed the log are present and enabled/)?.status).toBe('OK');
    expect(line(f, 'Codex', /answers with our token: \d+ companies/)?.status).toBe('OK');
    expect(line(f, 'Ledger', /answers with our token/)?.status).toBe('OK');
    expect(line(f, 'runs', /the latest run \(2025-01\) is completed: \d+ archived, 0 failed/)?.status).toBe('OK');
    expect(line(f, 'integrity', /latest checkpoint size \d+/)?.status).toBe('OK');
    expect(line(f, 'database', /\d+ bills \(0 corrections\)/)?.status).toBe('OK');
    expect(line(f, 'disk', /^data folder .* free of/)?.status).toBe('OK');
    // Not yet done: a verify, a backup, encryption. Warnings, each with what to do.
    for (const [area, re] of [
      ['integrity', /archive verify has never run/],
      ['backups', /no backup yet/],
      ['backups', /backups are not encrypted/],
    ] as const) {
      const w = line(f, area, re);
      expect(w?.status, String(re)).toBe('WARN');
      expect(w?.action).toBeTruthy();
    }
    expect(exitCodeOf(f)).toBe(1);
  });

  it('says OK once verify and a checked backup are done, and prints it readably with its exit code', async () => {
    expect((await world.server.api('/api/integrity/verify', { method: 'POST', token: ADMIN_TOKEN })).status).toBe(200);
    expect(await backupCommand(config(), () => undefined, { check: true })).toBe(0);
    const f = await runDoctor(config(), { cwd });
    expect(line(f, 'integrity', /the last archive verify passed/)?.status).toBe('OK');
    expect(line(f, 'backups', /the latest backup is \d+ s old/)?.status).toBe('OK');
    expect(line(f, 'backups', /the latest backup restored and verified/)?.status).toBe('OK');
    const out: string[] = [];
    const code = await doctorCommand({ env: env(), cwd }, (l) => out.push(l));
    expect(out.join('\n')).toMatch(/^OK {4}database +postgres:\/\/.* answers$/m);
    expect(out.join('\n')).toMatch(/^WARN {2}backups +backups are not encrypted.*\n +-> age-keygen/m);
    // The test's tokens hold the word "token": guessable, said so.
    expect(out.join('\n')).toMatch(/^WARN {2}tokens +SERVICE_TOKEN looks guessable/m);
    expect(out.join('\n')).toMatch(/\d+ OK, 3 WARN, 0 FAIL$/);
    expect(code).toBe(1);
    const json: string[] = [];
    await doctorCommand({ env: env(), cwd, json: true }, (l) => json.push(l));
    expect(JSON.parse(json.join('\n'))).toMatchObject({ status: 'WARN', findings: expect.arrayContaining([expect.objectContaining({ area: 'database', status: 'OK' })]) });
  }, 60_000);

  it('fails a disabled trigger, naming it', async () => {
    await world.server.db.knex.raw('ALTER TABLE billing_snapshots DISABLE TRIGGER billing_snapshots_immutable');
    try {
      const f = await runDoctor(config(), { cwd, peers: false });
      const bad = line(f, 'schema', /triggers disabled: billing_snapshots\.billing_snapshots_immutable/);
      expect(bad?.status).toBe('FAIL');
      expect(bad?.action).toMatch(/ENABLE TRIGGER.*archive verify/);
      expect(exitCodeOf(f)).toBe(2);
    } finally {
      await world.server.db.knex.raw('ALTER TABLE billing_snapshots ENABLE TRIGGER billing_snapshots_immutable');
    }
  });

  it('fails an unreachable database or peer, a weak token, a failed restore check, and a configuration that does not load', async () => {
    const down = await runDoctor(config({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' }), { cwd });
    expect(line(down, 'database', /PostgreSQL cannot be reached: nothing is listening/)?.status).toBe('FAIL');
    const peers = await runDoctor(config({ CODEX_URL: 'http://127.0.0.1:1', LEDGER_URL: 'http://127.0.0.1:1' }), { cwd });
    expect(line(peers, 'Codex', /127\.0\.0\.1:1/)?.status).toBe('FAIL');
    expect(line(peers, 'Ledger', /127\.0\.0\.1:1/)?.status).toBe('FAIL');
    const weak = await runDoctor(config({ ADMIN_TOKEN: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }), { cwd, peers: false });
    expect(line(weak, 'tokens', /ADMIN_TOKEN looks guessable \(1 different characters\)/)?.status).toBe('WARN');
    const [latest] = fs.readdirSync(backupDir).filter((n) => n.endsWith('.check.json'));
    fs.writeFileSync(
      path.join(backupDir, latest),
      JSON.stringify({ checked_at: new Date().toISOString(), ok: false, results: [{ check: 'rows', ok: false, detail: 'billing_snapshots: 3, the manifest says 4' }] }),
    );
    const failed = await runDoctor(config(), { cwd, peers: false });
    expect(line(failed, 'backups', /failed its restore check: rows: billing_snapshots: 3, the manifest says 4/)?.status).toBe('FAIL');
    const out: string[] = [];
    expect(await doctorCommand({ env: env({ SERVICE_PORT: 'many' }), cwd }, (l) => out.push(l))).toBe(2);
    expect(out[0]).toMatch(/^FAIL {2}configuration +Invalid configuration: SERVICE_PORT/);
  }, 60_000);
});
