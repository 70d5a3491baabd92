/**
 * `archive partition-by-year [--through YEAR] [--undo] [--json]`: `billing_snapshots` partitioned by
 * billing year, or back to one table (migrations/partition-by-year.ts), in one transaction, with
 * the service stopped. Idempotent: a table already in the asked-for shape is left as it is.
 */
import { cliContext, recordAudit } from '../audit/trail';
import { openForCommand } from '../boot';
import type { Config } from '../config';
import { StartupError } from '../startup-error';
import { down, extend, isPartitioned, TABLE, up, yearPartitions } from '../../migrations/partition-by-year';

type Out = (line: string) => void;

export interface PartitionOptions {
  /** The last year with a partition of its own (default: the year after this one, or after the latest billed); the years after share one. */
  through?: number;
  undo?: boolean;
  json?: boolean;
  now?: Date;
}

export async function partitionCommand(config: Config, opts: PartitionOptions, out: Out = (l) => process.stdout.write(l + '\n')): Promise<number> {
  const year = (opts.now ?? new Date()).getUTCFullYear();
  if (opts.through !== undefined && (!Number.isInteger(opts.through) || opts.through < 2000 || opts.through > 2100))
    throw new StartupError(`--through ${opts.through} must be a year from 2000 to 2100`);
  const db = await openForCommand(config, 2);
  try {
    const started = performance.now();
    let changed = false;
    let added: string[] = [];
    await db.knex.transaction(async (trx) => {
      // A running server holds the table: say so rather than wait for it.
      await trx.raw(`SET LOCAL lock_timeout = '5s'`);
      const partitioned = await isPartitioned(trx);
      if (opts.undo && !partitioned) return;
      const { rows } = await trx.raw(`SELECT min(billing_year) AS lo, max(billing_year) AS hi FROM ${TABLE}`);
      // Each year's partition is planned for by every query that does not name a year: a spare year, not ten.
      const through = opts.through ?? Math.max(year, rows[0].hi ?? year) + 1;
      if (!opts.undo && !partitioned && rows[0].hi !== null && rows[0].hi > through) throw new StartupError(`--through ${through} is before the latest billing year archived (${rows[0].hi})`);
      try {
        if (opts.undo) await down(trx);
        else if (partitioned) added = await extend(trx, through);
        else await up(trx, { first: Math.min(rows[0].lo ?? year, year), last: through });
      } catch (err) {
        if ((err as { code?: string }).code === '55P03') throw new StartupError(`${TABLE} is in use: stop the service (systemctl stop archive) and run this again`);
        throw err;
      }
      changed = opts.undo || !partitioned || added.length > 0;
      // In the same transaction: the change and its record stand or fall together.
      if (changed)
        await recordAudit(trx, {
          ...cliContext(),
          action: 'schema.partitioned',
          details: opts.undo ? { change: 'undone' } : partitioned ? { change: 'extended', through, added } : { change: 'partitioned', through },
        });
    });
    // A new table has no statistics yet: without them the planner would guess (badly).
    if (changed) await db.knex.raw(`ANALYZE ${TABLE}`);
    const parts = (await isPartitioned(db.knex)) ? await yearPartitions(db.knex) : [];
    const seconds = Math.round(performance.now() - started) / 1000;
    if (opts.json) {
      out(JSON.stringify({ partitioned: parts.length > 0, changed, seconds, partitions: parts }, null, 2));
      return 0;
    }
    if (opts.undo) out(changed ? `${TABLE} is one table again (${seconds.toFixed(1)} s).` : `${TABLE} is not partitioned: nothing to undo.`);
    else {
      const years = parts.filter((p) => /_y\d{4}$/.test(p.name));
      out(
        `${TABLE} ${changed && added.length === 0 ? 'is now' : 'is'} partitioned by billing_year: ${years.length} yearly partitions (${years[0]?.name.slice(-4)}–${years[years.length - 1]?.name.slice(-4)}) and one each for the years before and after${changed ? ` (${seconds.toFixed(1)} s)` : ''}.`,
      );
      if (added.length) out(`  added: ${added.join(', ')}`);
      else if (!changed) out('  Nothing to do: run it again next year for the year after (archive doctor says when).');
      for (const p of parts.filter((p) => p.rows > 0)) out(`  ${p.name}: ${p.rows.toLocaleString('en-US')} bills`);
    }
    return 0;
  } finally {
    await db.close();
  }
}
