/**
 * The knex instance: a real PostgreSQL when DATABASE_URL is set, otherwise an embedded
 * PostgreSQL (PGlite, WebAssembly, no native binary) in ARCHIVE_DATA_DIR. Both return the
 * same JavaScript types: numeric as string, date as 'YYYY-MM-DD', bigint counts as numbers.
 */
import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { lockDataDir } from './data-dir-lock';
import { setPgTypes, TYPE_PARSERS } from './pg-types';

export type DatabaseKind = 'postgres' | 'embedded';

export interface Database {
  knex: Knex;
  kind: DatabaseKind;
  /** Where the data lives, for messages: a URL without its password, or a folder. */
  location: string;
  /** The embedded database's data folder as a gzipped tar (its backup); undefined on PostgreSQL. */
  dumpDataDir?: () => Promise<Uint8Array>;
  close(): Promise<void>;
}

setPgTypes();

export interface DatabaseOptions {
  databaseUrl?: string;
  dataDir: string;
  poolMax?: number;
  /** Connections kept open while idle, so a burst after a quiet spell does not wait for new ones. */
  poolMin?: number;
  /**
   * Longest a statement may run, and wait for a lock, before PostgreSQL cancels it (ms; 0: no
   * limit). The server sets both; migrations and tools that may run long do not.
   */
  statementTimeoutMs?: number;
  lockTimeoutMs?: number;
  /** Where knex's own warnings go (a connection lost while idle...) instead of the console. */
  log?: { warn(obj: object, msg?: string): void; debug(obj: object, msg?: string): void };
  /** An in-memory embedded database (tests of the embedded path, and restore checks). */
  inMemory?: boolean;
  /** An embedded database's data folder (a gzipped tar from dumpDataDir) to start from (PGlite knows it is gzipped by its type). */
  loadDataDir?: Uint8Array;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const db = opts.databaseUrl ? openPostgres(opts.databaseUrl, opts) : await openEmbedded(opts);
  return db;
}

function openPostgres(url: string, opts: DatabaseOptions): Database {
  const poolMax = opts.poolMax ?? 10;
  const knex = knexFactory({
    client: 'pg',
    connection: {
      connectionString: url,
      application_name: 'archive',
      ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
      ...(opts.lockTimeoutMs ? { lock_timeout: opts.lockTimeoutMs } : {}),
    } as Knex.PgConnectionConfig,
    pool: { min: Math.min(opts.poolMin ?? 0, poolMax), max: poolMax, idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: opts.statementTimeoutMs ? Math.min(10_000, opts.statementTimeoutMs) : 10_000,
    // knex's own messages go to our log, or nowhere (the CLI says what failed in one line of its own, without knex's stack).
    log: opts.log
      ? {
          warn: (message: unknown) => opts.log!.warn({ source: 'knex', detail: String(message).slice(0, 300) }, 'database connection warning'),
          error: (message: unknown) => opts.log!.warn({ source: 'knex', detail: String(message).slice(0, 300) }, 'database connection error'),
          deprecate: () => undefined,
          debug: (message: unknown) => opts.log!.debug({ source: 'knex', detail: String(message).slice(0, 300) }, 'database'),
        }
      : { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined },
  });
  return { knex, kind: 'postgres', location: redactUrl(url), close: () => knex.destroy() };
}

async function openEmbedded(opts: DatabaseOptions): Promise<Database> {
  const [{ PGlite }, { pg_trgm }, { default: ClientPGLite }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite/contrib/pg_trgm'), import('knex-pglite')]);
  const dir = path.join(opts.dataDir, 'pgdata');
  if (!opts.inMemory) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const unlock = opts.inMemory ? () => {} : lockDataDir(opts.dataDir);
  let pglite: InstanceType<typeof PGlite>;
  try {
    // 'memory://', not undefined: PGlite(undefined, options) ignores the options.
    pglite = new PGlite(opts.inMemory ? 'memory://' : dir, {
      extensions: { pg_trgm },
      parsers: TYPE_PARSERS,
      ...(opts.loadDataDir ? { loadDataDir: new Blob([opts.loadDataDir as Uint8Array<ArrayBuffer>], { type: 'application/x-gzip' }) } : {}),
    });
    await pglite.waitReady;
  } catch (err) {
    unlock();
    throw err;
  }
  const knex = knexFactory({
    client: ClientPGLite as unknown as typeof knexFactory.Client,
    connection: () => ({ pglite }) as unknown as Knex.StaticConnectionConfig,
  });
  return {
    knex,
    kind: 'embedded',
    location: opts.inMemory ? 'memory' : dir,
    // A checkpoint first: the dump is of the data files, which must hold everything committed.
    dumpDataDir: async () => {
      await pglite.exec('CHECKPOINT');
      return new Uint8Array(await (await pglite.dumpDataDir('gzip')).arrayBuffer());
    },
    close: async () => {
      await knex.destroy();
      if (!pglite.closed) await pglite.close();
      unlock();
    },
  };
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    // libpq also takes the password (and a client key's passphrase) as a query parameter.
    for (const k of ['password', 'sslpassword']) if (u.searchParams.has(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}
