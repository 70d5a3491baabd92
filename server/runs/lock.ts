/**
 * A running job holds a PostgreSQL session advisory lock for its whole life, on a connection
 * of its own: a job whose lock is free has lost its process (and is marked interrupted).
 * The embedded database has one process, so there is nothing to lock there.
 */
import type { Knex } from 'knex';
import type { DatabaseKind } from '../db/database';

const ADVISORY_CLASS = 0x41524348; // 'ARCH'

type Connection = { query(sql: string, params: unknown[]): Promise<unknown> };
type Pool = { acquireConnection(): Promise<Connection>; releaseConnection(c: unknown): Promise<void> };

/** Takes the job's lock and returns its release. */
export async function holdRunLock(knex: Knex, dbKind: DatabaseKind, jobId: string): Promise<() => Promise<void>> {
  if (dbKind !== 'postgres') return async () => undefined;
  const client = knex.client as Pool;
  const conn = await client.acquireConnection();
  await conn.query('SELECT pg_advisory_lock($1, hashtext($2))', [ADVISORY_CLASS, jobId]);
  return async () => {
    try {
      await conn.query('SELECT pg_advisory_unlock($1, hashtext($2))', [ADVISORY_CLASS, jobId]);
    } finally {
      await client.releaseConnection(conn);
    }
  };
}

/** Whether no live process holds the job's lock (tried and let go at once). */
export async function runLockIsFree(knex: Knex, jobId: string): Promise<boolean> {
  const r = await knex.raw('SELECT pg_try_advisory_lock(?, hashtext(?)) AS got', [ADVISORY_CLASS, jobId]);
  if (!r.rows[0].got) return false;
  await knex.raw('SELECT pg_advisory_unlock(?, hashtext(?))', [ADVISORY_CLASS, jobId]);
  return true;
}
