import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * How fast this machine's PostgreSQL takes the ingested rows by COPY in one transaction,
 * into tables shaped like ours (same indexes, no triggers): a yardstick for the machine, as
 * the issue gives that figure for the one its targets were set on. The tables take
 * PostgreSQL's default compression (pglz), as when the issues measured it, so figures compare
 * across sessions; `ourCompression` gives the columns ours (lz4, migration 012) instead, which
 * PostgreSQL takes about twice as fast. Uses psql; -1 if absent.
 */
export function copyYardstick(url: string, bills: number, opts: { ourCompression?: boolean } = {}): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-copy-'));
  const psql = (...commands: string[]) => execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', url, ...(commands.length > 1 ? ['-1'] : []), ...commands.flatMap((c) => ['-c', c])]);
  try {
    psql(`\\copy billing_snapshots TO '${dir}/s.copy'`, `\\copy snapshot_line_items TO '${dir}/l.copy'`);
    psql(
      `CREATE TABLE yard_s (LIKE billing_snapshots INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES${opts.ourCompression ? ' INCLUDING COMPRESSION' : ''})`,
      'CREATE TABLE yard_l (LIKE snapshot_line_items INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)',
    );
    const t0 = performance.now();
    psql(`\\copy yard_s FROM '${dir}/s.copy'`, `\\copy yard_l FROM '${dir}/l.copy'`);
    const seconds = (performance.now() - t0) / 1000;
    psql('DROP TABLE yard_s', 'DROP TABLE yard_l');
    return Math.round(bills / seconds);
  } catch (err) {
    console.log(`(yardstick skipped: ${(err as Error).message.split('\n')[0]})`);
    return -1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
