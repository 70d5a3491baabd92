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
import { connectionsOf, onPostgres } from './connections';

type Value = string | number | boolean | Date | null | undefined | Record<string, unknown> | unknown[];

/** One value in COPY's text format: \N for null; backslash, newline, CR and tab escaped. */
export function copyText(v: Value): string {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : typeof v === 'boolean' ? (v ? 't' : 'f') : String(v);
  return escaped(s);
}

/** Backslash, newline, CR and tab escaped: a search for each (fast, native) and a replacement only of what occurs. */
function escaped(s: string): string {
  let out = s;
  if (s.includes('\\')) out = out.replaceAll('\\', '\\\\');
  if (s.includes('\n')) out = out.replaceAll('\n', '\\n');
  if (s.includes('\r')) out = out.replaceAll('\r', '\\r');
  if (s.includes('\t')) out = out.replaceAll('\t', '\\t');
  return out;
}

/** One row in COPY's text format, its line ending included. */
export const copyLine = (values: readonly Value[]): string => values.map(copyText).join('\t') + '\n';

/**
 * Rows already in COPY's text format, gathered as UTF-8 bytes: each write says where its
 * bytes lie, so a batch encoded in a worker thread travels to the writer as one buffer (moved,
 * not copied) and any row can still be left out.
 */
export class CopyBytes {
  private buf: Uint8Array;
  private end = 0;
  private readonly encoder = new TextEncoder();

  /** `capacity`: the bytes expected (a guess; the buffer grows past it). */
  constructor(capacity = 0) {
    this.buf = new Uint8Array(capacity);
  }

  /** Appends `text`; returns its [start, end) in bytes. */
  write(text: string): [number, number] {
    const start = this.end;
    // At most three bytes for each UTF-16 unit.
    if (this.buf.length - start < text.length * 3) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, start + text.length * 3, 1 << 16));
      bigger.set(this.buf.subarray(0, start));
      this.buf = bigger;
    }
    this.end += this.encoder.encodeInto(text, this.buf.subarray(start)).written;
    return [start, this.end];
  }

  /** The bytes written (a view of the buffer, which is the writer's no more: it may be moved to another thread). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.end);
  }
}

/** `COPY table (columns) FROM STDIN` on the transaction's own connection, fed from `source`. */
async function copyInto(trx: Knex.Transaction, table: string, columns: readonly string[], source: Iterable<string | Uint8Array>): Promise<void> {
  // In a transaction knex hands out the transaction's own connection; once it has ended, that
  // connection is back in the pool, where a COPY would commit on its own.
  if (trx.isCompleted()) throw new Error(`internal: COPY into ${table} after its transaction ended`);
  const conn = await connectionsOf(trx).acquireConnection();
  await pipeline(Readable.from(source), conn.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`)));
}

/** Writes `rows` (values in the order of `columns`) to `table` in `trx`. */
export async function copyRows(trx: Knex.Transaction, table: string, columns: readonly string[], rows: readonly (readonly Value[])[]): Promise<void> {
  if (rows.length === 0) return;
  if (!onPostgres(trx)) return insertRows(trx, table, columns, rows);
  // A few megabytes at a time, not one string of the whole batch.
  function* lines() {
    let chunk = '';
    for (const row of rows) {
      chunk += copyLine(row);
      if (chunk.length > 1 << 20) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  await copyInto(trx, table, columns, lines());
}

/**
 * Writes rows already in COPY's text format (CopyBytes) to `table` in `trx`. The embedded
 * database takes no COPY from a client: there the rows are read back and inserted.
 */
export async function copyEncoded(trx: Knex.Transaction, table: string, columns: readonly string[], chunks: readonly Uint8Array[]): Promise<void> {
  const filled = chunks.filter((c) => c.length > 0);
  if (filled.length === 0) return;
  if (!onPostgres(trx)) return insertRows(trx, table, columns, filled.flatMap(decodeLines));
  await copyInto(trx, table, columns, filled);
}

const UNESCAPED: Record<string, string> = { '\\\\': '\\', '\\n': '\n', '\\r': '\r', '\\t': '\t' };

/** COPY text back to values (\\N as null): the embedded database's path of copyEncoded. */
function decodeLines(chunk: Uint8Array): Value[][] {
  const text = new TextDecoder().decode(chunk);
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t').map((v) => (v === '\\N' ? null : v.replace(/\\[\\nrt]/g, (e) => UNESCAPED[e]))));
}

async function insertRows(trx: Knex.Transaction, table: string, columns: readonly string[], rows: readonly (readonly Value[])[]): Promise<void> {
  const plain = (v: Value) => (v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : v);
  const objects = rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, plain(r[i])])));
  const size = Math.max(1, Math.floor(30_000 / columns.length));
  for (let i = 0; i < objects.length; i += size) await trx(table).insert(objects.slice(i, i + size));
}
