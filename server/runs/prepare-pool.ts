/**
 * Where runs prepare bills: a pool of worker threads (piscina), or this thread when the pool
 * is off (RUN_WORKERS=0). Threads start with the first bill and end after a minute idle, so an
 * idle server keeps no workers.
 */
import { Piscina } from 'piscina';
import { prepareRunBill, type PrepareOutcome, type PrepareTask } from './prepare';
import { workerFile } from '../worker-file';

export interface Preparer {
  prepare(task: PrepareTask): Promise<PrepareOutcome>;
  close(): Promise<void>;
}

export function createPreparer(threads: number): Preparer {
  if (threads <= 0) return { prepare: async (task) => prepareRunBill(task), close: async () => {} };
  const pool = new Piscina<PrepareTask, PrepareOutcome>({
    filename: workerFile(import.meta.url, 'prepare-worker'),
    minThreads: 0,
    maxThreads: threads,
    idleTimeout: 60_000,
    // A worker holds one bill at a time: small heaps keep each thread to a few MB of garbage
    // (V8 would otherwise size them like the main heap). A bill too big for them fails that
    // company with the reason and a fresh thread takes the next.
    resourceLimits: { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 8 },
  });
  let closed: Promise<void> | undefined;
  return { prepare: (task) => pool.run(task), close: () => (closed ??= pool.destroy()) };
}
