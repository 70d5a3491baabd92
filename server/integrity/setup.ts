/**
 * Opening the log at start-up: its origin (fixed by its first checkpoint; ARCHIVE_LOG_ORIGIN
 * or this host's name before that), its signing key, and the refusal to sign with a key other
 * than the one the log was signed with: a lost key file must be restored, never silently
 * replaced, or every monitor would see a changed key.
 */
import os from 'node:os';
import type { Knex } from 'knex';
import type { Config } from '../config';
import { StartupError } from '../startup-error';
import { latestCheckpoint } from './log';
import { keyFileTooOpen, loadSigner, type Signer } from './signer';

export function defaultOrigin(): string {
  const host =
    os
      .hostname()
      .toLowerCase()
      .replace(/[^a-z0-9.-]/g, '') || 'localhost';
  return `${host}/archive`;
}

export async function openSigner(config: Pick<Config, 'dataDir' | 'integrity'>, knex: Knex, opts: { create?: boolean } = {}): Promise<{ signer: Signer; warnings: string[] }> {
  const last = await latestCheckpoint(knex);
  const stored = last?.note.split('\n')[0];
  if (stored && config.integrity.origin && config.integrity.origin !== stored) {
    throw new StartupError(`ARCHIVE_LOG_ORIGIN is ${config.integrity.origin}, but this log was started as ${stored}: a log keeps its name. Unset ARCHIVE_LOG_ORIGIN or set it to ${stored}.`);
  }
  // A log that has signed already never gets a new key: its own must be restored.
  const signer = await loadSigner({
    keyFile: config.integrity.keyFile,
    dataDir: config.dataDir,
    origin: stored ?? config.integrity.origin ?? defaultOrigin(),
    create: opts.create !== false && !last,
    whenMissing:
      opts.create !== false && last
        ? `, and this log was signed with ${last.verifier_key}: restore its key file from where you keep it (it is not in the backups); a new key would make every monitor of this log report a changed key.`
        : undefined,
  });
  if (last && last.verifier_key !== signer.verifierKey) {
    throw new StartupError(
      `The signing key in ${signer.file} is not the key this log was signed with (${last.verifier_key}; the file holds ${signer.verifierKey}). ` +
        'Restore the original key file from your backup; a new key would make every monitor of this log report a changed key.',
    );
  }
  const warnings = keyFileTooOpen(signer.file) ? [`the signing key ${signer.file} can be read by other users: chmod 600 it`] : [];
  return { signer, warnings };
}
