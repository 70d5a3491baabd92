/**
 * The backup folder (BACKUP_DIR): `archive-<UTC time>.dump` (or `.tar.gz` for the embedded
 * database), `.age` appended when encrypted, each beside its manifest
 * `archive-<UTC time>.manifest.json` and, once `archive restore --check` has restored it, its
 * check `archive-<UTC time>.check.json`. This module owns the folder's layout; backup.ts
 * writes it, the doctor and /metrics read it.
 */
import fs from 'node:fs';
import path from 'node:path';

export const BACKUP_FORMAT = 'archive-backup/v1';

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  /** The backup file's name, in the same folder. */
  file: string;
  created_at: string;
  /** `postgres`: a pg_dump in custom format; `embedded`: the embedded database's data folder as a gzipped tar. */
  database: 'postgres' | 'embedded';
  encrypted: boolean;
  /** The file's size and SHA-256 as written (after encryption). */
  bytes: number;
  sha256: string;
  /** Rows per table at the moment of the dump (one snapshot with it). */
  tables: Record<string, number>;
  /** The latest signed checkpoint at that moment: a restore must give it back. */
  checkpoint: { size: number; root: string; note: string } | null;
  archive_version: string;
}

export interface BackupCheck {
  checked_at: string;
  ok: boolean;
  /** What was compared, in words (each line a check). */
  results: { check: string; ok: boolean; detail: string }[];
}

export interface BackupEntry {
  name: string;
  manifest: BackupManifest;
  manifestFile: string;
  check: BackupCheck | null;
}

const STAMP = /^archive-(\d{8}T\d{6}(?:\d{3})?Z)\.manifest\.json$/;

export const stampOf = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.(\d{3})Z$/, '$1Z');
export const manifestFileOf = (dir: string, stamp: string) => path.join(dir, `archive-${stamp}.manifest.json`);
export const checkFileOf = (manifestFile: string) => manifestFile.replace(/\.manifest\.json$/, '.check.json');

/** The backups in the folder, newest first (an unreadable manifest is left out). */
export function listBackups(dir: string): BackupEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: BackupEntry[] = [];
  for (const n of names
    .filter((n) => STAMP.test(n))
    .sort()
    .reverse()) {
    const manifestFile = path.join(dir, n);
    try {
      const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as BackupManifest;
      if (manifest.format !== BACKUP_FORMAT) continue;
      let check: BackupCheck | null = null;
      try {
        check = JSON.parse(fs.readFileSync(checkFileOf(manifestFile), 'utf8')) as BackupCheck;
      } catch {
        check = null;
      }
      out.push({ name: n.replace(/\.manifest\.json$/, ''), manifest, manifestFile, check });
    } catch {
      continue;
    }
  }
  return out;
}
