/**
 * `archive backup` and `archive restore` on a real PostgreSQL and on the embedded database: a
 * pg_dump (or the data folder) with its manifest, encrypted with age; `restore --check`
 * restores into a scratch database, verifies and compares, and fails a changed file or a wrong
 * identity; a real restore goes into an empty database only; retention keeps the newest.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupCommand, restoreCommand } from '../../server/cli/backup';
import { openDatabase } from '../../server/db/database';
import { migrateToLatest } from '../../server/db/migrate';
import { archiveSnapshot } from '../../server/snapshots/archive';
import { listBackups } from '../../server/ops/backup-files';
import { pruneBackups } from '../../server/ops/backup';
import { makeBill } from '../helpers/fixtures';
import { integrated } from '../helpers/integrity';
import { adminQuery, databaseUrl } from '../helpers/pg';
import { startTestServer, testConfig, type TestServer } from '../helpers/server';

let server: TestServer;
let dir: string;
let identityFile: string;
let recipient: string;
let key: string;

const lines = () => {
  const out: string[] = [];
  return { out, push: (l: string) => void out.push(l), text: () => out.join('\n') };
};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-backups-'));
  const identity = await generateX25519Identity();
  recipient = await identityToRecipient(identity);
  identityFile = path.join(dir, 'identity.txt');
  fs.writeFileSync(identityFile, `# the restore key: keep it off this host\n${identity}\n`, { mode: 0o600 });
  server = await startTestServer();
  for (let m = 1; m <= 6; m++)
    expect((await server.api('/api/snapshot', { method: 'POST', json: makeBill({ company_account_number: '820001', billing_year: 2025, billing_month: m }) })).status).toBe(201);
  await integrated(server);
  key = (await (await server.api('/api/integrity/key')).text()).trim();
}, 90_000);
afterAll(async () => {
  await server?.stop();
});

const config = (over: Record<string, string> = {}) => testConfig({ DATABASE_URL: server.database.url, BACKUP_DIR: path.join(dir, 'pg'), BACKUP_AGE_RECIPIENTS: recipient, ...over });

describe('archive backup on PostgreSQL', () => {
  let file: string;

  it('writes an encrypted pg_dump and a manifest with the row counts and the latest checkpoint', async () => {
    const o = lines();
    expect(await backupCommand(config(), o.push)).toBe(0);
    expect(o.text()).toMatch(/Backup .*archive-\d{8}T\d{9}Z\.dump\.age: [\d.]+ MB, 6 bills, checkpoint size \d+, encrypted to 1 age recipient/);
    const [b] = listBackups(path.join(dir, 'pg'));
    expect(b.manifest).toMatchObject({ database: 'postgres', encrypted: true, tables: { billing_snapshots: 6, snapshot_line_items: expect.any(Number) } });
    expect(b.manifest.checkpoint!.size).toBeGreaterThanOrEqual(12);
    file = path.join(dir, 'pg', b.manifest.file);
    const head = fs.readFileSync(file).subarray(0, 21).toString('latin1');
    expect(head).toBe('age-encryption.org/v1');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // The backup is in the audit trail.
    const entry = await server.db.knex('audit_log').where('action', 'backup.created').orderBy('id', 'desc').first();
    expect(entry.details.file).toBe(b.manifest.file);
  });

  it('restore --check restores it into a scratch database, verifies it and compares it with the manifest', async () => {
    const o = lines();
    expect(await restoreCommand(config(), file, { check: true, key, identity: identityFile }, o.push)).toBe(0);
    expect(o.text()).toMatch(/Restore check of .*: OK/);
    expect(o.text()).toMatch(/OK {3}verify: 6 bills, \d+ leaves and \d+ checkpoints verify/);
    expect(o.text()).toMatch(/OK {3}rows: every table holds the rows the manifest counted/);
    expect(o.text()).toMatch(/OK {3}checkpoint: the latest signed checkpoint is size \d+, as at the backup/);
    expect(listBackups(path.join(dir, 'pg'))[0].check).toMatchObject({ ok: true });
    // The scratch database is gone (another test file's check may hold one of its own for a moment).
    const scratch = async () => (await server.db.knex.raw(`SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'archive_restore_check_%'`)).rows[0].n;
    await expect.poll(scratch, { timeout: 20_000, interval: 200 }).toBe(0);
  });

  it('restore --check fails a changed file and a wrong identity, saying which', async () => {
    const changed = file.replace(/(archive-\d+T\d+Z)/, '$1');
    const original = fs.readFileSync(changed);
    const bad = Buffer.from(original);
    bad[bad.length - 10] ^= 0xff;
    fs.writeFileSync(changed, bad);
    try {
      const o = lines();
      expect(await restoreCommand(config(), changed, { check: true, key, identity: identityFile }, o.push)).toBe(1);
      expect(o.text()).toMatch(/FAIL file: the file is \d+ bytes with SHA-256 [0-9a-f]{64}; the manifest says/);
    } finally {
      fs.writeFileSync(changed, original);
    }
    const other = path.join(dir, 'other-identity.txt');
    fs.writeFileSync(other, `${await generateX25519Identity()}\n`);
    const o = lines();
    expect(await restoreCommand(config(), file, { check: true, key, identity: other }, o.push)).toBe(1);
    expect(o.text()).toMatch(/FAIL decrypt: the identity does not open it/);
    expect(listBackups(path.join(dir, 'pg'))[0].check).toMatchObject({ ok: false });
  });

  it('restores for real only into an empty database, which then verifies', async () => {
    const name = `archive_restored_${Date.now()}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    try {
      const target = config({ DATABASE_URL: databaseUrl(name) });
      const o = lines();
      expect(await restoreCommand(target, file, { check: false, key, identity: identityFile }, o.push)).toBe(0);
      expect(o.text()).toMatch(/Restored .* into postgres:\/\/.*: OK/);
      const db = await openDatabase({ databaseUrl: databaseUrl(name), dataDir: '/nonexistent', poolMax: 1 });
      try {
        expect(Number((await db.knex('billing_snapshots').count({ n: '*' }).first())!.n)).toBe(6);
        // Archived rows are immutable in the restored database too: the triggers came back.
        await expect(db.knex.raw('UPDATE billing_snapshots SET total_amount = 0')).rejects.toThrow(/archived rows are immutable/);
      } finally {
        await db.close();
      }
      await expect(restoreCommand(target, file, { check: false, key, identity: identityFile }, () => undefined)).rejects.toThrow(/is not empty \(\d+ tables\): restore into a new database/);
    } finally {
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });

  it('without recipients writes a plain pg_dump, said so', async () => {
    const o = lines();
    const plain = testConfig({ DATABASE_URL: server.database.url, BACKUP_DIR: path.join(dir, 'plain') });
    expect(await backupCommand(plain, o.push)).toBe(0);
    expect(o.text()).toMatch(/NOT encrypted \(set BACKUP_AGE_RECIPIENTS\)/);
    const [b] = listBackups(path.join(dir, 'plain'));
    expect(
      fs
        .readFileSync(path.join(dir, 'plain', b.manifest.file))
        .subarray(0, 5)
        .toString('latin1'),
    ).toBe('PGDMP');
    expect(await restoreCommand(plain, path.join(dir, 'plain', b.manifest.file), { check: true, key }, () => undefined)).toBe(0);
  });
});

describe('archive backup --check', () => {
  it('checks what it made where the identity is, and says where to check it where it is not', async () => {
    const o = lines();
    expect(await backupCommand(config({ BACKUP_DIR: path.join(dir, 'checked'), BACKUP_AGE_IDENTITY_FILE: identityFile }), o.push, { check: true, key })).toBe(0);
    expect(o.text()).toMatch(/Restore check of .*: OK/);
    expect(listBackups(path.join(dir, 'checked'))[0].check).toMatchObject({ ok: true });
    const away = lines();
    expect(await backupCommand(config({ BACKUP_DIR: path.join(dir, 'unchecked') }), away.push, { check: true, key })).toBe(0);
    expect(away.text()).toMatch(/Not checked here: the age identity is not on this host/);
    expect(listBackups(path.join(dir, 'unchecked'))[0].check).toBeNull();
  });
});

describe('retention', () => {
  it('removes backups older than the retention, never the newest', () => {
    const r = path.join(dir, 'retention');
    fs.mkdirSync(r);
    const make = (iso: string) => {
      const stamp = iso.replace(/[-:]/g, '').replace(/\.(\d{3})Z$/, '$1Z');
      fs.writeFileSync(path.join(r, `archive-${stamp}.dump`), 'x');
      fs.writeFileSync(path.join(r, `archive-${stamp}.manifest.json`), JSON.stringify({ format: 'archive-backup/v1', file: `archive-${stamp}.dump`, created_at: iso }));
      return `archive-${stamp}`;
    };
    const old = make('2026-10-01T02:00:00.000Z');
    const older = make('2026-09-01T02:00:00.000Z');
    const recent = make('2026-11-20T02:00:00.000Z');
    expect(pruneBackups(r, 30, new Date('2026-12-01T00:00:00Z')).sort()).toEqual([old, older].sort());
    expect(fs.readdirSync(r).sort()).toEqual([`${recent}.dump`, `${recent}.manifest.json`]);
    // Only stale backups left: the newest stays, however old.
    expect(pruneBackups(r, 1, new Date('2027-06-01T00:00:00Z'))).toEqual([]);
    expect(listBackups(r).map((b) => b.name)).toEqual([recent]);
  });
});

describe('archive backup on the embedded database', () => {
  it('backs up the data folder, encrypted, and restore --check restores it in memory and verifies it', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-embedded-backup-'));
    const db = await openDatabase({ dataDir });
    await migrateToLatest(db.knex);
    await archiveSnapshot(db.knex, makeBill({ company_account_number: '830001' }) as never, { tolerance: '0.05' });
    await db.close();
    const cfg = testConfig({ ARCHIVE_DATA_DIR: dataDir, BACKUP_AGE_RECIPIENTS: recipient, BACKUP_AGE_IDENTITY_FILE: identityFile, ARCHIVE_SIGNING_KEY_FILE: '' });
    const o = lines();
    expect(await backupCommand(cfg, o.push)).toBe(0);
    expect(o.text()).toMatch(/archive-\d+T\d+Z\.tar\.gz\.age: [\d.]+ MB, 1 bills, checkpoint none yet/);
    const [b] = listBackups(path.join(dataDir, 'backups'));
    expect(b.manifest).toMatchObject({ database: 'embedded', encrypted: true, tables: { billing_snapshots: 1 } });
    const c = lines();
    expect(await restoreCommand(cfg, path.join(dataDir, 'backups', b.manifest.file), { check: true, key }, c.push), c.text()).toBe(0);
    expect(c.text()).toMatch(/OK {3}rows: every table holds the rows the manifest counted/);
    // Where no signing key is (another host) and no --key is given: what to do, said once.
    const otherHost = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-no-key-'));
    const elsewhere = testConfig({ ARCHIVE_DATA_DIR: otherHost, BACKUP_AGE_IDENTITY_FILE: identityFile, ARCHIVE_SIGNING_KEY_FILE: '' });
    await expect(restoreCommand(elsewhere, path.join(dataDir, 'backups', b.manifest.file), { check: true }, () => undefined)).rejects.toThrow(
      /^No verifier key to check the restored log with: There is no signing key at .*: run this where the server's key is, or set ARCHIVE_SIGNING_KEY_FILE\. Or give the log's verifier key with --key \(archive integrity key prints it where the signing key is\)\.$/,
    );
    fs.rmSync(otherHost, { recursive: true, force: true });
  }, 120_000);
});
