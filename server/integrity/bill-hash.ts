/**
 * Content hashes of stored bills, recomputed: the CPU-bound half of `archive verify`. A bill
 * travels as its fields and the JSON text of its billing data (as the database gives it)
 * and its lines, so a worker thread parses, canonicalises and hashes it while the main thread
 * reads the next batch. A pool of worker threads (piscina), or this thread when threads is 0.
 */
import { Piscina } from 'piscina';
import type { BillFields, BillLine } from '../../shared/api';
import { contentHashOf } from '../snapshots/archive';
import { workerFile } from '../worker-file';

export interface StoredBillText {
  fields: BillFields;
  billingDataJson: string;
  lines: BillLine[];
}

export interface BillHash {
  hash: string;
  lines: number;
}

export function hashStoredBills(bills: StoredBillText[]): BillHash[] {
  return bills.map((b) => ({ hash: contentHashOf(b.fields, JSON.parse(b.billingDataJson), b.lines), lines: b.lines.length }));
}

export interface BillHasher {
  hash(bills: StoredBillText[]): Promise<BillHash[]>;
  close(): Promise<void>;
}

export function createBillHasher(threads: number): BillHasher {
  if (threads <= 0) return { hash: async (bills) => hashStoredBills(bills), close: async () => {} };
  const pool = new Piscina<StoredBillText[], BillHash[]>({ filename: workerFile(import.meta.url, 'hash-worker'), minThreads: threads, maxThreads: threads });
  return {
    // Split across the threads: each takes an equal share of the batch.
    hash: async (bills) => {
      const share = Math.ceil(bills.length / threads);
      const parts = Array.from({ length: threads }, (_, i) => bills.slice(i * share, (i + 1) * share)).filter((p) => p.length > 0);
      return (await Promise.all(parts.map((p) => pool.run(p)))).flat();
    },
    close: () => pool.destroy(),
  };
}
