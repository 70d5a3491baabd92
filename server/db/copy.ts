/**
 * Bulk writes inside the caller's transaction by `COPY … FROM STDIN` (pg-copy-streams, text
 * format). For PostgreSQL a COPY row is a line split at tabs; the same rows as one JSON
 * parameter (json_to_recordset) must be parsed as JSON first, which took it longer than
 * storing them. Constraints and row and statement triggers apply to COPY as to INSERT, so
 * every guarantee the schema keeps holds for a bulk write too.
 *
 * The embedded database cannot COPY from a client's stream: there the rows go as multi-row
 * INSERTs, a few hundred at a time.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Knex } from 'knex';
import { from as copyFrom } from 'pg-copy-streams';

type Value = string | number | boolean | Date | null | undefined | Record<string, unknown> | unknown[];

const SPECIAL = /[\\\n\r\t]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One value in COPY's text format: \N for null; backslash, newline, CR and tab escaped. */
export function copyText(v: Value): string {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : typeof v === 'boolean' ? (v ? 't' : 'f') : String(v);
  return s.replace(SPECIAL, (c) => ESCAPED[c]);
}

type Connection = { query(stream: unknown): NodeJS.WritableStream };

/** Writes `rows` (values in the order of `columns`) to `table` in `trx`. */
export async function copyRows(trx: Knex.Transaction, table: string, columns: readonly string[], rows: readonly (readonly Value[])[]): Promise<void> {
  if (rows.length === 0) return;
  if ((trx.client as { config: { client?: unknown } }).config.client !== 'pg') return insertRows(trx, table, columns, rows);
  // In a transaction knex hands out the transaction's own connection.
  const conn = (await (trx.client as { acquireConnection(): Promise<Connection> }).acquireConnection()) as Connection;
  const stream = conn.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  // A few megabytes at a time, not one string of the whole batch.
  function* lines() {
    let chunk = '';
    for (const row of rows) {
      chunk += row.map(copyText).join('\t') + '\n';
      if (chunk.length > 1 << 20) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  await pipeline(Readable.from(lines()), stream);
}

async function insertRows(trx: Knex.Transaction, table: string, columns: readonly string[], rows: readonly (readonly Value[])[]): Promise<void> {
  const plain = (v: Value) => (v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : v);
  const objects = rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, plain(r[i])])));
  const size = Math.max(1, Math.floor(30_000 / columns.length));
  for (let i = 0; i < objects.length; i += size) await trx(table).insert(objects.slice(i, i + size));
}
