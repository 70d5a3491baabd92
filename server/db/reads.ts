/**
 * Reads that may be served by a streaming replica (DATABASE_READ_URL): search, a company's
 * history, statistics, a bill and its CSV, PDF, log state and raw body. The replica answers
 * first; the primary answers when the replica cannot (down, restarting, a recovery conflict)
 * or does not hold the row yet (a bill archived a moment ago, not yet replayed there): a client
 * always reads its own writes. Writes, and reads that decide a write, use the primary.
 */
import type { Knex } from 'knex';
import { ArchiveError } from '../errors';

export type Reads = <T>(read: (knex: Knex) => Promise<T>) => Promise<T>;

export function replicaReads(primary: Knex, replica: Knex | undefined, onFallback?: (err: unknown) => void): Reads {
  if (!replica) return (read) => read(primary);
  return async (read) => {
    try {
      return await read(replica);
    } catch (err) {
      // A refusal of the request itself (a bad parameter) is the same on the primary.
      if (err instanceof ArchiveError && err.code !== 'not_found') throw err;
      if (!(err instanceof ArchiveError)) onFallback?.(err);
      return read(primary);
    }
  };
}
