/**
 * The embedded database belongs to one process at a time: PGlite keeps the database in its own
 * memory and writes it back to the folder, so a second process on the same folder would see
 * stale data and overwrite the first one's writes. A lock file beside the data, naming the
 * process, keeps the second one out with a message saying which process holds it. A lock left
 * by a process that no longer runs (a crash, a SIGKILL) is taken over.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StartupError } from '../startup-error';

interface LockFacts {
  pid: number;
  command: string;
  since: string;
}

/** Takes the lock on `dataDir`'s embedded database; the returned function gives it back. */
export function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, 'pgdata.lock');
  // No command is `serve` (the CLI's default).
  const mine: LockFacts = { pid: process.pid, command: process.argv.slice(2).join(' ') || 'serve', since: new Date().toISOString() };
  const take = () => fs.writeFileSync(file, JSON.stringify(mine) + '\n', { flag: 'wx', mode: 0o600 });
  try {
    take();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = readLock(file);
    if (holder && holder.pid !== process.pid && alive(holder.pid)) {
      throw new StartupError(
        `The embedded database in ${dataDir} is in use by process ${holder.pid} (archive ${holder.command}, since ${holder.since}). ` +
          'It can be opened by one process at a time: stop that process first, or use PostgreSQL (DATABASE_URL) to run commands beside a running server.',
      );
    }
    fs.rmSync(file, { force: true }); // left by a process that is gone
    take(); // a process that took it in between wins; this one fails with EEXIST
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    if (readLock(file)?.pid === process.pid) fs.rmSync(file, { force: true });
  };
  process.on('exit', release);
  return release;
}

/** The live process that holds `dataDir`'s embedded database, other than this one; null when none does. */
export function lockHolder(dataDir: string): LockFacts | null {
  const holder = readLock(path.join(dataDir, 'pgdata.lock'));
  return holder && holder.pid !== process.pid && alive(holder.pid) ? holder : null;
}

function readLock(file: string): LockFacts | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockFacts;
  } catch {
    return null; // unreadable or half written: treated as left behind
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
