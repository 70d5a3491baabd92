/**
 * A throwaway PostgreSQL cluster a test can restart (fast or immediate) or stop: initdb into a
 * temporary folder and pg_ctl on a free port, as the `postgres` user when the tests run as
 * root. Binaries from /usr/lib/postgresql/15/bin (PG_BIN overrides).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface Cluster {
  port: number;
  url(db: string): string;
  /** `pg_ctl restart -m fast|immediate`: returns once the server accepts connections again. */
  restart(mode: 'fast' | 'immediate'): void;
  stop(mode?: 'fast' | 'immediate'): void;
  start(): void;
  destroy(): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const asPostgres = process.getuid?.() === 0;
const run = (cmd: string, args: string[]) =>
  execFileSync(asPostgres ? 'runuser' : path.join(BIN, cmd), asPostgres ? ['-u', 'postgres', '--', path.join(BIN, cmd), ...args] : args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-cluster-'));
  if (asPostgres) execFileSync('chown', ['postgres:postgres', dir]);
  return dir;
}

export async function startCluster(): Promise<Cluster> {
  const dir = tempDir();
  const data = path.join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync']);
  return startIn(dir, data);
}

/** A streaming replica of `primary` (pg_basebackup -R over loopback), started on a port of its own. */
export async function startReplica(primary: Cluster): Promise<Cluster & { pauseReplay(): void; resumeReplay(): void }> {
  const dir = tempDir();
  const data = path.join(dir, 'data');
  run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', data, '-R', '-X', 'stream', '--checkpoint=fast', '--no-sync']);
  const c = await startIn(dir, data);
  const sql = (q: string) => run('psql', ['-h', '127.0.0.1', '-p', String(c.port), '-U', 'postgres', '-d', 'postgres', '-X', '-q', '-c', q]);
  return { ...c, pauseReplay: () => void sql('SELECT pg_wal_replay_pause()'), resumeReplay: () => void sql('SELECT pg_wal_replay_resume()') };
}

async function startIn(dir: string, data: string): Promise<Cluster> {
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`;
  const ctl = (...args: string[]) => run('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', ...args]);
  ctl('start');
  return {
    port,
    url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    restart: (mode) => void ctl('restart', '-m', mode),
    stop: (mode = 'fast') => void ctl('stop', '-m', mode),
    start: () => void ctl('start'),
    destroy: () => {
      try {
        ctl('stop', '-m', 'immediate');
      } catch {
        /* already stopped */
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
