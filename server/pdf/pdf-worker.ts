/** The PDF worker threads' task (piscina): see pool.ts. The bytes move to the main thread, not copied. */
import { Piscina } from 'piscina';
import { renderBillPdf } from './bill-pdf';
import type { PdfTask } from './pool';

export default async ({ bill, settings }: PdfTask): Promise<Uint8Array> => {
  const pdf = await renderBillPdf(bill, settings);
  // A Buffer of its own (not a slice of Node's shared pool), so its memory can be handed over.
  const own = new Uint8Array(pdf.byteLength);
  own.set(pdf);
  return Piscina.move(own) as Uint8Array;
};
