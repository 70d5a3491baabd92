/** A worker thread that renders bill PDFs, so a bulk export uses every core and the main process stays responsive. */
import { parentPort } from 'node:worker_threads';
import { renderBillPdf, type BillForPdf } from '../../server/pdf/bill-pdf';

parentPort!.on('message', (msg: { id: number; bill: BillForPdf }) => {
  // A bad bill fails its render, not the worker.
  Promise.resolve()
    .then(() => renderBillPdf(msg.bill))
    .then(
      (pdf) => parentPort!.postMessage({ id: msg.id, pdf }),
      (err: Error) => parentPort!.postMessage({ id: msg.id, error: err.message }),
    );
});
