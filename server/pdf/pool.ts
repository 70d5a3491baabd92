/**
 * Where the server renders bill PDFs: a pool of worker threads (piscina), so a bulk export
 * never stalls ingest and search on the event loop, or this thread when PDF_WORKERS=0.
 * pdfkit and its fonts load with the first PDF (in the worker, or here), and idle threads end
 * after a minute, so a server that never renders a PDF holds none of it.
 */
import { Piscina } from 'piscina';
import type { BillForPdf } from './bill-pdf';
import { DEFAULT_PDF_SETTINGS, type PdfSettings } from './settings';
import { workerFile } from '../worker-file';

export interface PdfRenderer {
  render(bill: BillForPdf): Promise<Buffer>;
  close(): Promise<void>;
}

/** A task of the worker threads. */
export interface PdfTask {
  bill: BillForPdf;
  settings: PdfSettings;
}

export function createPdfRenderer(threads: number, settings: PdfSettings = DEFAULT_PDF_SETTINGS): PdfRenderer {
  if (threads <= 0) {
    return { render: async (bill) => (await import('./bill-pdf')).renderBillPdf(bill, settings), close: async () => {} };
  }
  const pool = new Piscina<PdfTask, Uint8Array>({ filename: workerFile(import.meta.url, 'pdf-worker'), minThreads: 0, maxThreads: threads, idleTimeout: 60_000 });
  let closed: Promise<void> | undefined;
  return {
    render: async (bill) => {
      const pdf = await pool.run({ bill, settings });
      return Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength);
    },
    close: () => (closed ??= pool.destroy()),
  };
}
