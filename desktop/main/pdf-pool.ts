/**
 * A small pool of PDF worker threads (desktop/main/pdf-worker.ts). Renders go to the least
 * busy worker; a worker that dies fails its renders with the reason and is replaced.
 */
import { Worker } from 'node:worker_threads';
import type { BillForPdf } from '../../server/pdf/bill-pdf';

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>;
}

export class PdfPool {
  private slots: Slot[] = [];
  private seq = 0;

  constructor(
    size: number,
    private readonly workerFile: string | URL,
    private readonly execArgv: string[] = [],
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(this.workerFile, { execArgv: this.execArgv }), pending: new Map() };
    slot.worker.on('message', (m: { id: number; pdf?: Uint8Array; error?: string }) => {
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(`PDF rendering failed: ${m.error}`));
      else p.resolve(Buffer.from(m.pdf!.buffer, m.pdf!.byteOffset, m.pdf!.byteLength));
    });
    const fail = (err: Error) => {
      for (const p of slot.pending.values()) p.reject(new Error(`The PDF worker stopped: ${err.message}`));
      slot.pending.clear();
      const i = this.slots.indexOf(slot);
      if (i >= 0 && !this.closed) this.slots[i] = this.spawn();
    };
    slot.worker.on('error', fail);
    slot.worker.on('exit', (code) => code !== 0 && fail(new Error(`exit code ${code}`)));
    slot.worker.unref();
    return slot;
  }

  private closed = false;

  render(bill: BillForPdf): Promise<Buffer> {
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, bill });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
