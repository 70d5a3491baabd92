/**
 * knex's own connections, which its public types leave out, for what knex does not do itself: a
 * COPY stream, a named prepared statement, a pool warmed up. It loads nothing at run time: the
 * worker threads that encode COPY rows import the modules that use it.
 */
import type { Knex } from 'knex';
import type pg from 'pg';

/** A knex instance's connections: on PostgreSQL proper, node-postgres clients; in a transaction, the transaction's own. */
export interface KnexConnections {
  config: { client?: unknown };
  acquireConnection(): Promise<pg.Client>;
  releaseConnection(connection: pg.Client): Promise<void>;
}

export const connectionsOf = (knex: Knex): KnexConnections => knex.client as unknown as KnexConnections;

/** Whether `knex` is on PostgreSQL proper, not the embedded database (which takes no COPY from a client, and no named statements). */
export const onPostgres = (knex: Knex): boolean => connectionsOf(knex).config.client === 'pg';
