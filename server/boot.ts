/**
 * One start-up path for the server and the CLI: open the database and refuse one that is not
 * migrated (saying what to run) and describe a database error in words. Imports nothing of the
 * HTTP layer, nor of the runs (runs/engine.ts builds those): a command that needs neither loads
 * neither.
 */
import type { Config } from './config';
import { connectionsOf } from './db/connections';
import { describeDbError } from './db/db-error';
import { openDatabase, type Database } from './db/database';
import { pendingMigrations } from './db/migrate';
import type { Logger } from './log';
import { StartupError } from './startup-error';

/**
 * The configured PostgreSQL, migrated, or a StartupError that says what is wrong. `server`
 * adds the request-serving settings (warm connections, statement and lock timeouts).
 */
export async function openMigratedPostgres(config: Config & { databaseUrl: string }, opts: { log?: Logger; poolMax?: number; server?: boolean } = {}): Promise<Database> {
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolMax: opts.poolMax ?? config.poolMax,
    ...(opts.server ? { poolMin: config.poolMin, statementTimeoutMs: config.statementTimeoutMs, lockTimeoutMs: config.lockTimeoutMs } : {}),
    log: opts.log,
  });
  await requireMigrated(db);
  if (opts.server) await warmUp(db, config.poolMin);
  return db;
}

/**
 * Opens the pool's minimum of connections now: the pool keeps that many when idle, but opens
 * them only on demand, so the first requests after start-up would wait for them.
 */
async function warmUp(db: Database, n: number): Promise<void> {
  const client = connectionsOf(db.knex);
  const connections = await Promise.all(Array.from({ length: n }, () => client.acquireConnection()));
  await Promise.all(connections.map((c) => client.releaseConnection(c)));
}

/** Refuses (and closes) a database with pending migrations or that cannot be used. */
export async function requireMigrated(db: Database): Promise<void> {
  try {
    const pending = await pendingMigrations(db.knex);
    if (pending.length > 0) {
      throw new StartupError(`The database ${db.location} is not migrated (${pending.length} pending: ${pending.join(', ')}). Run \`npm run init-db\` (or \`archive init-db --migrate-only\`) first.`);
    }
  } catch (err) {
    await db.close();
    if (err instanceof StartupError) throw err;
    throw new StartupError(`Cannot use the database ${db.location}: ${describeDbError(err)}`);
  }
}

/** A command's database: the configured PostgreSQL, or the embedded one in the data folder; migrated, or refused. */
export async function openForCommand(config: Config, poolMax: number): Promise<Database> {
  if (config.databaseUrl) return openMigratedPostgres({ ...config, databaseUrl: config.databaseUrl }, { poolMax });
  const db = await openDatabase({ dataDir: config.dataDir, poolMax });
  await requireMigrated(db);
  return db;
}
