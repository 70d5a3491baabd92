/**
 * The bills' half of `archive verify`, the CPU-bound one: every stored bill read and its
 * content hash recomputed, in ranges of ids, delivered in id order.
 *
 * On PostgreSQL, when the verify has a transaction of its own, worker threads do all of it,
 * each on its own connection inside the transaction's exported snapshot (pg_export_snapshot,
 * SET TRANSACTION SNAPSHOT): they see exactly what the verify sees, and the bills' text is
 * decoded, parsed and hashed beside the main thread instead of copied to it. Otherwise (the
 * embedded database, threads 0, or a caller's transaction, which may hold writes only it can
 * see) this thread reads and hashes, reading the next range while it hashes one.
 */
import { Worker } from 'node:worker_threads';
import type { Knex } from 'knex';
import { workerFile } from '../worker-file';
import { checkStoredBills, readBillRange, type CheckedBill, type Query } from './bill-batch';
import type { HashWorkerData, HashWorkerMessage } from './hash-worker';

export interface BillCheckOptions {
  /** Worker threads; 0 reads and hashes on this thread. */
  threads: number;
  /** Bills per range. */
  rangeSize: number;
  /** Whether `knex` is a transaction the verify opened itself (its snapshot can be shared). */
  ownTransaction: boolean;
}

interface Range {
  index: number;
  from: number;
  to: number;
}

/** Ranges of `size` bills each, by their ids as they are (ids have gaps: refused posts use some up). */
async function billRanges(db: Query, size: number): Promise<Range[]> {
  const { rows } = await db(`SELECT min(id)::bigint AS lo, max(id)::bigint AS hi FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / ? AS g FROM billing_snapshots) r GROUP BY g ORDER BY g`, [
    size,
  ]);
  return (rows as { lo: number | string; hi: number | string }[]).map((r, index) => ({ index, from: Number(r.lo), to: Number(r.hi) }));
}

/** The connection settings a worker thread can open its own connection with, when `knex` is node-postgres. */
function pgConnection(knex: Knex): HashWorkerData['connection'] | undefined {
  const config = (knex as unknown as { client: { config: Knex.Config } }).client.config;
  if (config.client !== 'pg' || !config.connection || typeof config.connection === 'function') return undefined;
  if (typeof config.connection === 'string') return config.connection;
  return { ...(config.connection as object), application_name: 'archive verify' } as HashWorkerData['connection'];
}

/** `db` runs the statements (on `knex`'s connection, one at a time); `knex` says whether worker threads can open their own. */
export async function* checkedBills(knex: Knex, db: Query, opts: BillCheckOptions): AsyncGenerator<CheckedBill[]> {
  const ranges = await billRanges(db, opts.rangeSize);
  const connection = opts.ownTransaction && opts.threads > 0 && ranges.length > 1 ? pgConnection(knex) : undefined;
  if (connection === undefined) {
    yield* onThisThread(db, ranges);
    return;
  }
  const { rows } = (await db('SELECT pg_export_snapshot() AS id', [])) as { rows: { id: string }[] };
  yield* inWorkers(connection, String(rows[0].id), ranges, Math.min(opts.threads, ranges.length));
}

async function* onThisThread(query: Query, ranges: Range[]): AsyncGenerator<CheckedBill[]> {
  const read = (i: number) => {
    if (i >= ranges.length) return undefined;
    const reading = readBillRange(query, ranges[i].from, ranges[i].to);
    // Met when awaited; until then it must not go unhandled.
    reading.catch(() => undefined);
    return reading;
  };
  let next = read(0);
  for (let i = 0; i < ranges.length; i++) {
    const stored = await next!;
    next = read(i + 1);
    yield checkStoredBills(stored);
  }
}

/** The ranges dealt round to `threads` worker threads; their results taken back in order. */
async function* inWorkers(connection: HashWorkerData['connection'], snapshot: string, ranges: Range[], threads: number): AsyncGenerator<CheckedBill[]> {
  const ready = new Map<number, CheckedBill[]>();
  let failure: Error | undefined;
  let ended = 0;
  let wake: (() => void) | undefined;
  const signal = () => {
    wake?.();
    wake = undefined;
  };
  const file = new URL(workerFile(import.meta.url, 'hash-worker'));
  const workers = Array.from({ length: threads }, (_, w) => {
    const workerData: HashWorkerData = { connection, snapshot, ranges: ranges.filter((r) => r.index % threads === w) };
    const worker = new Worker(file, { workerData });
    const exited = new Promise<void>((resolve) => {
      worker.on('message', (m: HashWorkerMessage) => {
        if ('error' in m) failure ??= new Error(m.error);
        else if ('index' in m) ready.set(m.index, m.bills);
        signal();
      });
      worker.on('error', (err) => {
        failure ??= err;
        signal();
      });
      worker.on('exit', (code) => {
        if (code !== 0) failure ??= new Error(`a worker thread of the verify stopped (exit code ${code})`);
        ended++;
        signal();
        resolve();
      });
    });
    return { worker, exited };
  });
  try {
    for (let i = 0; i < ranges.length; i++) {
      while (!ready.has(i)) {
        if (failure) throw failure;
        if (ended === workers.length) throw new Error('the worker threads of the verify ended before every bill was checked');
        await new Promise<void>((resolve) => (wake = resolve));
      }
      const bills = ready.get(i)!;
      ready.delete(i);
      yield bills;
    }
    // Each closes its transaction and connection, then ends.
    await Promise.all(workers.map((w) => w.exited));
    if (failure) throw failure;
  } finally {
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}
