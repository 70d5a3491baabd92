/**
 * Backups, and restoring them (the guide's "Encrypt database backups", made the product's):
 *  - `createBackup`: PostgreSQL as a pg_dump in custom format, taken inside one snapshot with
 *    the manifest's row counts and latest signed checkpoint (pg_dump --snapshot); the embedded
 *    database as its data folder (a gzipped tar). Encrypted with age (age-encryption) when
 *    recipients are configured. Written under a temporary name and renamed, the manifest last:
 *    a backup that has a manifest is whole. Older than the retention are removed, never the newest.
 *  - `checkBackup`: the file's digest, then a restore into a scratch database (dropped after),
 *    `archive verify` there, and its row counts and checkpoint against the manifest.
 *  - `restoreBackup`: the same restore into the configured, empty database, and the same checks.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Decrypter, Encrypter } from 'age-encryption';
import type { Knex } from 'knex';
import { openDatabase, redactUrl, type Database } from '../db/database';
import { latestCheckpoint } from '../integrity/log';
import { verifyArchive } from '../integrity/verify';
import { StartupError } from '../startup-error';
import { ARCHIVE_TABLES } from './state';
import { BACKUP_FORMAT, checkFileOf, listBackups, manifestFileOf, stampOf, type BackupCheck, type BackupManifest } from './backup-files';

export interface BackupOptions {
  dir: string;
  retentionDays: number;
  recipients: string[];
  version: string;
  /** The database's URL (PostgreSQL), for pg_dump. */
  databaseUrl?: string;
  now?: Date;
}

/** Every table of the archive with its exact row count (in the caller's snapshot; a partitioned table's rows, not each partition's). */
async function tableCounts(knex: Knex): Promise<Record<string, number>> {
  const { rows } = await knex.raw(`SELECT c.relname AS name FROM ${ARCHIVE_TABLES} ORDER BY c.relname`);
  const out: Record<string, number> = {};
  for (const { name } of rows as { name: string }[]) {
    const { rows: n } = await knex.raw(`SELECT count(*)::bigint AS n FROM ??`, [name]);
    out[name] = Number(n[0].n);
  }
  return out;
}

async function checkpointOf(knex: Knex): Promise<BackupManifest['checkpoint']> {
  const c = await latestCheckpoint(knex);
  return c ? { size: c.size, root: Buffer.from(c.root).toString('base64'), note: c.note } : null;
}

/** Counts bytes and the SHA-256 of what passes. */
function digesting(): Transform & { digest(): { bytes: number; sha256: string } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  }) as Transform & { digest(): { bytes: number; sha256: string } };
  t.digest = () => ({ bytes, sha256: hash.digest('hex') });
  return t;
}

function encrypted(source: Readable, recipients: string[]): Promise<Readable> {
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  return e.encrypt(Readable.toWeb(source) as ReadableStream<Uint8Array>).then((out) => Readable.fromWeb(out as unknown as import('node:stream/web').ReadableStream<Uint8Array>));
}

/** A child process's stdout as a stream, failing with its stderr when it exits non-zero. */
function run(cmd: string, args: string[], opts: { stdin?: Readable; url: string }): { stdout: Readable; done: Promise<void> } {
  // The password goes in the environment, not on the command line (where ps shows it).
  const u = new URL(opts.url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  const child = spawn(cmd, [...args, `--dbname=${u.toString()}`], {
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-4000)));
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (err) =>
      reject(new StartupError(`${cmd} could not be started (${(err as NodeJS.ErrnoException).code ?? err.message}): install the PostgreSQL client (apt install postgresql-client-15)`)),
    );
    child.once('close', (code) => (code === 0 ? resolve() : reject(new StartupError(`${cmd} failed (exit ${code}): ${stderr.trim() || 'no message'}`))));
  });
  if (opts.stdin) {
    // A restore that stops early closes its input: the exit status says why, not a broken pipe.
    child.stdin!.on('error', () => undefined);
    opts.stdin.pipe(child.stdin as Writable);
  }
  return { stdout: child.stdout!, done };
}

export interface BackupResult {
  manifest: BackupManifest;
  manifestFile: string;
  file: string;
  removed: string[];
}

export async function createBackup(db: Database, opts: BackupOptions): Promise<BackupResult> {
  const now = opts.now ?? new Date();
  fs.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const stamp = stampOf(now);
  const encrypt = opts.recipients.length > 0;
  const name = `archive-${stamp}.${db.kind === 'postgres' ? 'dump' : 'tar.gz'}${encrypt ? '.age' : ''}`;
  const file = path.join(opts.dir, name);
  const partial = `${file}.partial-${randomBytes(4).toString('hex')}`;
  const sink = digesting();
  let tables: Record<string, number> = {};
  let checkpoint: BackupManifest['checkpoint'] = null;
  try {
    if (db.kind === 'postgres') {
      if (!opts.databaseUrl) throw new StartupError('A backup of PostgreSQL needs DATABASE_URL');
      await db.knex.transaction(
        async (trx) => {
          // The dump, the counts and the checkpoint all see this one snapshot.
          const { rows } = await trx.raw('SELECT pg_export_snapshot() AS id');
          tables = await tableCounts(trx);
          checkpoint = await checkpointOf(trx);
          const dump = run('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--snapshot=${rows[0].id}`], { url: opts.databaseUrl! });
          const source = encrypt ? await encrypted(dump.stdout, opts.recipients) : dump.stdout;
          await Promise.all([pipeline(source, sink, fs.createWriteStream(partial, { mode: 0o600 })), dump.done]);
        },
        { isolationLevel: 'repeatable read', readOnly: true },
      );
    } else {
      // The embedded database: this process holds its data folder, so nothing writes meanwhile.
      tables = await tableCounts(db.knex);
      checkpoint = await checkpointOf(db.knex);
      const tar = Readable.from([Buffer.from(await db.dumpDataDir!())]);
      await pipeline(encrypt ? await encrypted(tar, opts.recipients) : tar, sink, fs.createWriteStream(partial, { mode: 0o600 }));
    }
    fs.renameSync(partial, file);
  } catch (err) {
    fs.rmSync(partial, { force: true });
    throw err;
  }
  const { bytes, sha256 } = sink.digest();
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    file: name,
    created_at: now.toISOString(),
    database: db.kind,
    encrypted: encrypt,
    bytes,
    sha256,
    tables,
    checkpoint,
    archive_version: opts.version,
  };
  const manifestFile = manifestFileOf(opts.dir, stamp);
  fs.writeFileSync(`${manifestFile}.partial`, JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(`${manifestFile}.partial`, manifestFile);
  return { manifest, manifestFile, file, removed: pruneBackups(opts.dir, opts.retentionDays, now) };
}

/** Removes backups older than the retention, never the newest; returns their names. */
export function pruneBackups(dir: string, retentionDays: number, now = new Date()): string[] {
  const cutoff = now.getTime() - retentionDays * 86_400_000;
  const removed: string[] = [];
  for (const b of listBackups(dir).slice(1)) {
    if (Date.parse(b.manifest.created_at) >= cutoff) continue;
    // The manifest first: a backup without one is not offered for restore.
    fs.rmSync(b.manifestFile, { force: true });
    fs.rmSync(path.join(dir, path.basename(b.manifest.file)), { force: true });
    fs.rmSync(checkFileOf(b.manifestFile), { force: true });
    removed.push(b.name);
  }
  return removed;
}

/** The manifest of a backup named by its file or its manifest. */
export function readManifest(given: string): { manifest: BackupManifest; manifestFile: string; file: string } {
  const abs = path.resolve(given);
  const m = /^(.*\/archive-\d{8}T\d{6}(?:\d{3})?Z)\.(?:manifest\.json|check\.json|dump(?:\.age)?|tar\.gz(?:\.age)?)$/.exec(abs);
  if (!m) throw new StartupError(`${given} is not an Archive backup (archive-<time>.dump, .tar.gz, .age, or its .manifest.json)`);
  const manifestFile = `${m[1]}.manifest.json`;
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as BackupManifest;
  } catch (err) {
    throw new StartupError(`The backup's manifest ${manifestFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): a backup without its manifest cannot be checked`);
  }
  if (manifest.format !== BACKUP_FORMAT) throw new StartupError(`${manifestFile} is not a manifest of this format (${BACKUP_FORMAT})`);
  return { manifest, manifestFile, file: path.join(path.dirname(manifestFile), path.basename(manifest.file)) };
}

export interface RestoreOptions {
  /** The age identity file (AGE-SECRET-KEY-1...), for an encrypted backup. */
  identityFile?: string;
  /** The verifier key the restored log is checked with (the operator's). */
  verifierKey: string;
}

function identitiesOf(file: string | undefined): string[] {
  if (!file) throw new StartupError('The backup is encrypted: give the age identity with --identity FILE (or BACKUP_AGE_IDENTITY_FILE)');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new StartupError(`The age identity file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const keys = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('AGE-SECRET-KEY-'));
  if (keys.length === 0) throw new StartupError(`${file} holds no age identity (a line AGE-SECRET-KEY-1...)`);
  return keys;
}

/** The backup's content, checked against its digest and decrypted, as a stream. */
async function contentOf(file: string, manifest: BackupManifest, opts: RestoreOptions, results: BackupCheck['results']): Promise<Readable> {
  const data = fs.readFileSync(file);
  const sha256 = createHash('sha256').update(data).digest('hex');
  const intact = sha256 === manifest.sha256 && data.length === manifest.bytes;
  results.push({
    check: 'file',
    ok: intact,
    detail: intact ? `${data.length} bytes, SHA-256 as the manifest says` : `the file is ${data.length} bytes with SHA-256 ${sha256}; the manifest says ${manifest.bytes} bytes, ${manifest.sha256}`,
  });
  if (!intact) throw new BackupCheckFailed(results);
  if (!manifest.encrypted) return Readable.from([data]);
  const d = new Decrypter();
  for (const k of identitiesOf(opts.identityFile)) d.addIdentity(k);
  try {
    return Readable.from([Buffer.from(await d.decrypt(data))]);
  } catch (err) {
    results.push({ check: 'decrypt', ok: false, detail: `the identity does not open it: ${(err as Error).message}` });
    throw new BackupCheckFailed(results);
  }
}

export class BackupCheckFailed extends Error {
  constructor(readonly results: BackupCheck['results']) {
    super(
      results
        .filter((r) => !r.ok)
        .map((r) => `${r.check}: ${r.detail}`)
        .join('; '),
    );
  }
}

/** Restores the content into `target` (PostgreSQL: an empty database's URL; embedded: a folder, or memory). */
async function restoreInto(content: Readable, manifest: BackupManifest, target: { url: string } | { dataDir: string } | 'memory'): Promise<Database> {
  if (manifest.database === 'postgres') {
    if (typeof target !== 'object' || !('url' in target)) throw new StartupError('This backup is of PostgreSQL: restore it with DATABASE_URL set');
    await run('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error'], { stdin: content, url: target.url }).done;
    return openDatabase({ databaseUrl: target.url, dataDir: '/nonexistent', poolMax: 3 });
  }
  const chunks: Buffer[] = [];
  for await (const c of content) chunks.push(c as Buffer);
  const tar = new Uint8Array(Buffer.concat(chunks));
  if (target === 'memory') return openDatabase({ dataDir: '/nonexistent', inMemory: true, loadDataDir: tar });
  if (typeof target === 'object' && 'dataDir' in target) return openDatabase({ dataDir: target.dataDir, loadDataDir: tar });
  throw new StartupError('This backup is of the embedded database: restore it without DATABASE_URL (into ARCHIVE_DATA_DIR)');
}

/** The restored database against the manifest: archive verify, the row counts, the checkpoint. */
async function compare(knex: Knex, manifest: BackupManifest, verifierKey: string, results: BackupCheck['results']): Promise<void> {
  const report = await verifyArchive(knex, { verifierKey });
  results.push({
    check: 'verify',
    ok: report.ok,
    detail: report.ok
      ? `${report.bills} bills, ${report.leaves} leaves and ${report.checkpoints} checkpoints verify`
      : `${report.findings.length} finding${report.findings.length === 1 ? '' : 's'}: ${report.findings
          .slice(0, 3)
          .map((f) => f.message)
          .join('; ')}`,
  });
  const counts = await tableCounts(knex);
  const differing = Object.entries(manifest.tables).filter(([t, n]) => counts[t] !== n);
  results.push({
    check: 'rows',
    ok: differing.length === 0,
    detail:
      differing.length === 0
        ? `every table holds the rows the manifest counted (${Object.keys(manifest.tables).length} tables)`
        : differing.map(([t, n]) => `${t}: ${counts[t] ?? 'missing'}, the manifest says ${n}`).join('; '),
  });
  const cp = await checkpointOf(knex);
  const same = JSON.stringify(cp && { size: cp.size, root: cp.root }) === JSON.stringify(manifest.checkpoint && { size: manifest.checkpoint.size, root: manifest.checkpoint.root });
  results.push({
    check: 'checkpoint',
    ok: same,
    detail: same
      ? cp
        ? `the latest signed checkpoint is size ${cp.size}, as at the backup`
        : 'no checkpoint, as at the backup'
      : `the latest checkpoint is ${cp ? `size ${cp.size}` : 'none'}; the manifest says ${manifest.checkpoint ? `size ${manifest.checkpoint.size}` : 'none'}`,
  });
}

/** A scratch database on the same server as `url` (the URL's user must be allowed CREATE DATABASE). */
async function scratchDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `archive_restore_check_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = await openDatabase({ databaseUrl: url, dataDir: '/nonexistent', poolMax: 1 });
  try {
    await admin.knex.raw(`CREATE DATABASE ${name}`);
  } catch (err) {
    await admin.close();
    throw new StartupError(`A restore check needs a scratch database, and this user may not create one (${(err as Error).message}): grant it CREATEDB, or run the check as a user who may`);
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      await admin.knex.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.close();
    },
  };
}

/** `archive restore --check`: restores into a scratch database, verifies, compares, writes the check beside the manifest. */
export async function checkBackup(given: string, opts: RestoreOptions & { databaseUrl?: string; now?: Date }): Promise<BackupCheck & { manifest: BackupManifest; checkFile: string }> {
  const { manifest, manifestFile, file } = readManifest(given);
  const results: BackupCheck['results'] = [];
  let ok = false;
  try {
    const content = await contentOf(file, manifest, opts, results);
    let scratch: { url: string; drop(): Promise<void> } | undefined;
    if (manifest.database === 'postgres') {
      if (!opts.databaseUrl) throw new StartupError('A check of a PostgreSQL backup needs DATABASE_URL: the scratch database is made on that server');
      scratch = await scratchDatabase(opts.databaseUrl);
    }
    try {
      const db = await restoreInto(content, manifest, scratch ? { url: scratch.url } : 'memory');
      try {
        await compare(db.knex, manifest, opts.verifierKey, results);
      } finally {
        await db.close();
      }
    } finally {
      await scratch?.drop();
    }
    ok = results.every((r) => r.ok);
  } catch (err) {
    if (!(err instanceof BackupCheckFailed)) results.push({ check: 'restore', ok: false, detail: (err as Error).message });
  }
  const check: BackupCheck = { checked_at: (opts.now ?? new Date()).toISOString(), ok, results };
  const checkFile = checkFileOf(manifestFile);
  fs.writeFileSync(checkFile, JSON.stringify(check, null, 2) + '\n', { mode: 0o600 });
  return { ...check, manifest, checkFile };
}

/** `archive restore`: into the configured database, which must hold no archive yet; then the same checks. */
export async function restoreBackup(given: string, opts: RestoreOptions & { databaseUrl?: string; dataDir: string }): Promise<BackupCheck & { manifest: BackupManifest; target: string }> {
  const { manifest, file } = readManifest(given);
  const results: BackupCheck['results'] = [];
  const content = await contentOf(file, manifest, opts, results);
  let target: { url: string } | { dataDir: string };
  if (manifest.database === 'postgres') {
    if (!opts.databaseUrl) throw new StartupError('This backup is of PostgreSQL: set DATABASE_URL to the empty database to restore into');
    const db = await openDatabase({ databaseUrl: opts.databaseUrl, dataDir: '/nonexistent', poolMax: 1 });
    try {
      const { rows } = await db.knex.raw(`SELECT count(*)::int AS n FROM ${ARCHIVE_TABLES}`);
      if (rows[0].n > 0)
        throw new StartupError(
          `${redactUrl(opts.databaseUrl)} is not empty (${rows[0].n} tables): restore into a new database (createdb archive_restored; DATABASE_URL=postgres://.../archive_restored archive restore FILE), then point the service at it`,
        );
    } finally {
      await db.close();
    }
    target = { url: opts.databaseUrl };
  } else {
    if (opts.databaseUrl) throw new StartupError('This backup is of the embedded database: unset DATABASE_URL to restore it into ARCHIVE_DATA_DIR');
    const pgdata = path.join(opts.dataDir, 'pgdata');
    if (fs.existsSync(pgdata) && fs.readdirSync(pgdata).length > 0) throw new StartupError(`${pgdata} already holds a database: move it away first (the server stopped), then restore`);
    target = { dataDir: opts.dataDir };
  }
  const db = await restoreInto(content, manifest, target);
  try {
    await compare(db.knex, manifest, opts.verifierKey, results);
  } finally {
    await db.close();
  }
  return { checked_at: new Date().toISOString(), ok: results.every((r) => r.ok), results, manifest, target: 'url' in target ? redactUrl(target.url) : target.dataDir };
}
