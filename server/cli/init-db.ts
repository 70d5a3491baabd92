/**
 * `archive init-db`: the guide's init_db.py. Tests the connection with a readable verdict,
 * runs the migrations and inserts the default scheduler row. Never prompts without a TTY.
 */
import readline from 'node:readline/promises';
import { loadConfig } from '../config';
import { openDatabase } from '../db/database';
import { migrateToLatest, pendingMigrations } from '../db/migrate';
import { ensureDefaultSchedule } from '../schedule/store';
import { describeDbError } from '../db/db-error';

export interface InitDbOptions {
  databaseUrl?: string;
  migrateOnly: boolean;
  interactive: boolean;
}

export async function initDb(opts: InitDbOptions, out: (line: string) => void = console.log): Promise<number> {
  const config = loadConfig();
  let databaseUrl = opts.databaseUrl ?? config.databaseUrl;
  if (!databaseUrl && opts.interactive) {
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    const answer = (await rl.question(`PostgreSQL URL (postgres://user:password@host:5432/archive_db), empty for the embedded database in ${config.dataDir}: `)).trim();
    rl.close();
    databaseUrl = answer || undefined;
  }
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    out(`✗ The database URL must start with postgres:// (got ${databaseUrl.split(':')[0]}:...)`);
    return 2;
  }
  const db = await openDatabase({ databaseUrl, dataDir: config.dataDir, poolMax: 2 });
  try {
    out(`Database: ${db.location} (${db.kind})`);
    try {
      const version = await db.knex.raw('SHOW server_version');
      out(`✓ Connected (PostgreSQL ${version.rows[0].server_version})`);
    } catch (err) {
      out(`✗ Cannot connect: ${describeDbError(err)}`);
      return 1;
    }
    const pending = await pendingMigrations(db.knex);
    const ran = await migrateToLatest(db.knex);
    out(ran.length ? `✓ Migrations applied: ${ran.join(', ')}` : `✓ Schema up to date (${pending.length} pending before)`);
    if (!opts.migrateOnly) {
      const inserted = await ensureDefaultSchedule(db.knex);
      out(inserted ? '✓ Default schedule created: enabled, day 1 at 02:00, previous month, all companies' : '✓ Schedule row already present (left as it is)');
    }
    const tables = await db.knex.raw(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`);
    out(`Tables: ${tables.rows.map((r: { tablename: string }) => r.tablename).join(', ')}`);
    return 0;
  } catch (err) {
    out(`✗ ${describeDbError(err)}`);
    return 1;
  } finally {
    await db.close();
  }
}
