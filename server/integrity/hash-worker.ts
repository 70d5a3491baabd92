/**
 * A worker thread of `archive verify` (see bill-check.ts): on its own connection, in the
 * snapshot the verify exported, it reads its share of the bills' id ranges, recomputes their
 * content hashes and posts each range's results; the next range is read while this one is
 * hashed. The bills' text never crosses to the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { setPgTypes } from '../db/pg-types';
import { checkStoredBills, numbered, readBillRange, type CheckedBill, type Query } from './bill-batch';

export interface HashWorkerData {
  connection: string | pg.ClientConfig;
  /** The id pg_export_snapshot() gave the verify's transaction. */
  snapshot: string;
  ranges: { index: number; from: number; to: number }[];
}

export type HashWorkerMessage = { index: number; bills: CheckedBill[] } | { done: true } | { error: string };

async function run(data: HashWorkerData): Promise<void> {
  setPgTypes();
  if (!/^[0-9A-F-]+$/i.test(data.snapshot)) throw new Error(`not a snapshot id: ${data.snapshot}`);
  const client = new pg.Client(typeof data.connection === 'string' ? { connectionString: data.connection } : data.connection);
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT '${data.snapshot}'`);
    const query: Query = (sql, params) => client.query(numbered(sql), params as unknown[]);
    const read = (i: number) => {
      if (i >= data.ranges.length) return undefined;
      const reading = readBillRange(query, data.ranges[i].from, data.ranges[i].to);
      // Met when awaited; until then it must not go unhandled.
      reading.catch(() => undefined);
      return reading;
    };
    let next = read(0);
    for (let i = 0; i < data.ranges.length; i++) {
      const stored = await next!;
      // The next range's rows arrive while this thread hashes these.
      next = read(i + 1);
      parentPort!.postMessage({ index: data.ranges[i].index, bills: checkStoredBills(stored) } satisfies HashWorkerMessage);
    }
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}

run(workerData as HashWorkerData).then(
  () => parentPort!.postMessage({ done: true } satisfies HashWorkerMessage),
  (err: Error) => parentPort!.postMessage({ error: err.message } satisfies HashWorkerMessage),
);
