/**
 * Backups from the command line (the systemd timer runs the first nightly):
 *   archive backup                         pg_dump (or the embedded data folder) + manifest, encrypted
 *                                          to BACKUP_AGE_RECIPIENTS, older than the retention removed
 *   archive restore --check FILE           restored into a scratch database, verified, compared
 *   archive restore FILE                   restored into the configured, empty database, verified
 */
import { cliContext, recordAudit } from '../audit/trail';
import { openForCommand } from '../boot';
import type { Config } from '../config';
import { openDatabase } from '../db/database';
import { loadSigner } from '../integrity/signer';
import { defaultOrigin } from '../integrity/setup';
import { checkBackup, createBackup, readManifest, restoreBackup } from '../ops/backup';
import type { BackupCheck } from '../ops/backup-files';
import { sizeText as mb } from '../ops/state';
import { StartupError } from '../startup-error';
import { VERSION } from '../version';
import { readVerifierKey } from './integrity';

type Out = (line: string) => void;
const stdout: Out = (l) => process.stdout.write(l + '\n');

export async function backupCommand(config: Config, out: Out = stdout, opts: { check?: boolean; key?: string } = {}): Promise<number> {
  const file = await makeBackup(config, out);
  if (!opts.check) return 0;
  // A backup that was never restored is not a backup: check it here when this host can open it.
  const { manifest } = readManifest(file);
  const identityFile = config.ops.ageIdentityFile;
  if (manifest.encrypted && !identityFile) {
    out('Not checked here: the age identity is not on this host (BACKUP_AGE_IDENTITY_FILE). Run archive restore --check FILE where it is.');
    return 0;
  }
  return restoreCommand(config, file, { check: true, key: opts.key }, out);
}

async function makeBackup(config: Config, out: Out): Promise<string> {
  const db = await openForCommand(config, 2);
  try {
    const r = await createBackup(db, { dir: config.ops.backupDir, retentionDays: config.ops.retentionDays, recipients: config.ops.ageRecipients, version: VERSION, databaseUrl: config.databaseUrl });
    await recordAudit(db.knex, { ...cliContext(), action: 'backup.created', details: { file: r.manifest.file, bytes: r.manifest.bytes, encrypted: r.manifest.encrypted } });
    const bills = r.manifest.tables.billing_snapshots ?? 0;
    out(
      `Backup ${r.file}: ${mb(r.manifest.bytes)}, ${bills} bills, checkpoint ${r.manifest.checkpoint ? `size ${r.manifest.checkpoint.size}` : 'none yet'}, ${r.manifest.encrypted ? `encrypted to ${config.ops.ageRecipients.length} age recipient${config.ops.ageRecipients.length === 1 ? '' : 's'}` : 'NOT encrypted (set BACKUP_AGE_RECIPIENTS)'}.`,
    );
    out(`Manifest ${r.manifestFile}.`);
    if (r.removed.length) out(`Removed ${r.removed.length} backup${r.removed.length === 1 ? '' : 's'} older than ${config.ops.retentionDays} days: ${r.removed.join(', ')}.`);
    return r.file;
  } finally {
    await db.close();
  }
}

/** The verifier key to check a restored log with: --key, or the signing key's own. */
async function verifierKeyFor(config: Config, file: string, key: string | undefined): Promise<string> {
  if (key) return readVerifierKey(key);
  const { manifest } = readManifest(file);
  const origin = manifest.checkpoint?.note.split('\n')[0] ?? config.integrity.origin ?? defaultOrigin();
  try {
    const whenMissing = ": run this where the server's key is, or set ARCHIVE_SIGNING_KEY_FILE.";
    return (await loadSigner({ keyFile: config.integrity.keyFile, dataDir: config.dataDir, origin, create: false, whenMissing })).verifierKey;
  } catch (err) {
    // Whatever kept the key (missing, unreadable), --key is the other way: said once, here.
    throw new StartupError(
      `No verifier key to check the restored log with: ${(err as Error).message} Or give the log's verifier key with --key (archive integrity key prints it where the signing key is).`,
    );
  }
}

function printCheck(c: BackupCheck, out: Out): void {
  for (const r of c.results) out(`  ${r.ok ? 'OK  ' : 'FAIL'} ${r.check}: ${r.detail}`);
}

export async function restoreCommand(config: Config, file: string, opts: { check: boolean; key?: string; identity?: string }, out: Out = stdout): Promise<number> {
  const verifierKey = await verifierKeyFor(config, file, opts.key);
  const identityFile = opts.identity ?? config.ops.ageIdentityFile;
  if (opts.check) {
    const c = await checkBackup(file, { verifierKey, identityFile, databaseUrl: config.databaseUrl });
    out(`Restore check of ${c.manifest.file} (made ${c.manifest.created_at}): ${c.ok ? 'OK' : 'FAILED'}`);
    printCheck(c, out);
    out(`Written to ${c.checkFile}.`);
    return c.ok ? 0 : 1;
  }
  const r = await restoreBackup(file, { verifierKey, identityFile, databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  out(`Restored ${r.manifest.file} (made ${r.manifest.created_at}) into ${r.target}: ${r.ok ? 'OK' : 'FAILED'}`);
  printCheck(r, out);
  if (r.ok) {
    const db = config.databaseUrl ? await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolMax: 1 }) : undefined;
    if (db) {
      await recordAudit(db.knex, { ...cliContext(), action: 'backup.restored', details: { file: r.manifest.file, created_at: r.manifest.created_at } }).finally(() => db.close());
    }
    out('Next: start the service (systemctl start archive), then archive doctor.');
  }
  return r.ok ? 0 : 1;
}
