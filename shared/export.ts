/**
 * The one export strategy of both bridges (the desktop's main process writes files, the web
 * bridge downloads them): every file is the server's own bytes (its PDF renderer, Ledger's
 * CSV); a single file keeps the name the server suggests, made safe; a bulk export names each
 * PDF `<Company>_<YYYY>-<MM>.pdf`, distinct on every OS and around files already there, and
 * ends with a manifest (file, invoice, company, period, total, currency, content hash). Only where the
 * bytes go differs: an ExportSink. Browser-safe.
 */
// The browser build: the same code with its own Buffer, so it runs in the renderer and in Node.
import { stringify } from 'csv-stringify/browser/esm/sync';
import type { ArchiveClient } from './archive-client';
import { BridgeError, type BulkExportProgress, type BulkExportResult, type SearchParams } from './bridge';
import { BILL_EXPORTS, billFileName, safeFileName, sharedNames, UniqueNames, type BillExport } from './files';
import { periodText } from './period';

/** Where exported files go: a folder on disk, or the browser's downloads. */
export interface ExportSink {
  /** What the person sees as the destination (a folder path, "Downloads"). */
  readonly place: string;
  /** Names already taken there, never overwritten. */
  existing(): Promise<string[]>;
  /** Writes one file whole (or not at all) under `name`; resolves with where it went. */
  write(name: string, data: Uint8Array, type: string): Promise<string>;
}

/** One bill's PDF or CSV as the server serves it, under the name it suggests (safe, with the right extension). */
export async function billFile(client: ArchiveClient, invoice: string, kind: BillExport, signal?: AbortSignal, revision?: number): Promise<{ name: string; data: Uint8Array; type: string }> {
  const f = await client.file(invoice, kind, signal, revision);
  const { ext, type } = BILL_EXPORTS[kind];
  let name = f.fileName || safeFileName(`${invoice}.${ext}`) || `invoice.${ext}`;
  if (!name.toLowerCase().endsWith(`.${ext}`)) name += `.${ext}`;
  return { name, data: f.data, type: f.type || type };
}

export const MANIFEST_COLUMNS = ['file', 'invoice_number', 'company', 'period', 'total_amount', 'currency', 'content_hash'] as const;

/** The manifest of a bulk export, rows sorted by file name. */
export function manifestCsv(rows: string[][]): string {
  return stringify([[...MANIFEST_COLUMNS], ...[...rows].sort((a, b) => a[0].localeCompare(b[0]))], { record_delimiter: '\r\n' });
}

export interface BulkExportOptions {
  exportId: string;
  signal: AbortSignal;
  progress(p: BulkExportProgress): void;
  /** Bills fetched at a time. */
  concurrency?: number;
}

/**
 * Every bill of a search (all pages, in its order) as PDFs into the sink, with progress (at
 * most every 100 ms), cancel, and the manifest of what was written, also when it stops early.
 */
export async function bulkExport(client: ArchiveClient, params: SearchParams, sink: ExportSink, opts: BulkExportOptions): Promise<BulkExportResult> {
  const { exportId, signal } = opts;
  const manifest: string[][] = [];
  let manifestName = 'manifest.csv';
  let done = 0;
  let total = 0;
  let lastSent = 0;
  const report = (state: BulkExportProgress['state'], file: string | null, error?: string) => {
    const now = Date.now();
    if (state === 'running' && now - lastSent < 100 && done < total) return;
    lastSent = now;
    opts.progress({ exportId, done, total, file, state, error });
  };
  const writeManifest = async (evenEmpty: boolean) => (manifest.length || evenEmpty ? sink.write(manifestName, new TextEncoder().encode(manifestCsv(manifest)), 'text/csv') : null);
  try {
    const { currency } = await client.call('archive:about', signal);
    const bills = await client.allResults(params, signal, (_done, all) => (total = all));
    total = bills.length;
    report('running', null);
    const shared = sharedNames(bills);
    const names = new UniqueNames();
    names.reserve(await sink.existing());
    manifestName = names.take('manifest.csv');
    let next = 0;
    const worker = async () => {
      while (next < bills.length && !signal.aborted) {
        const bill = bills[next++];
        const withAccount = shared.has((bill.company_name ?? '').toLowerCase());
        const name = names.take(
          billFileName(bill.company_name, bill.company_account_number, bill.billing_year, bill.billing_month, 'pdf', { withAccount, revision: bill.revision }),
          bill.invoice_number,
        );
        // Each revision a search lists is its own file (the latest, or a superseded one).
        const f = await client.file(bill.invoice_number, 'pdf', signal, bill.superseded ? bill.revision : undefined);
        await sink.write(name, f.data, 'application/pdf');
        manifest.push([name, bill.invoice_number, bill.company_name ?? '', periodText(bill.billing_year, bill.billing_month), bill.total_amount, currency, bill.content_hash]);
        done++;
        report('running', name);
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 4, Math.max(1, bills.length)) }, worker));
    const state = signal.aborted ? 'cancelled' : 'done';
    const manifestFile = await writeManifest(state === 'done');
    report(state, null);
    return { exportId, folder: sink.place, files: manifest.length, manifest: manifestFile, state };
  } catch (err) {
    const cancelled = signal.aborted || (err instanceof BridgeError && err.code === 'cancelled');
    const manifestFile = await writeManifest(false).catch(() => null);
    const error = cancelled ? undefined : (err as Error).message;
    report(cancelled ? 'cancelled' : 'failed', null, error);
    return { exportId, folder: sink.place, files: manifest.length, manifest: manifestFile, state: cancelled ? 'cancelled' : 'failed', error };
  }
}
