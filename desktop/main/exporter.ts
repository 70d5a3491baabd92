/**
 * Exporting bills to files: one PDF or CSV through a save dialog, or every bill of a search
 * (e.g. a whole month) as PDFs into a folder, with progress, cancel, and a manifest
 * (file, invoice, company, period, total, content hash). The PDF renderer is the server's.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { BulkExportProgress, BulkExportResult, ExportResult, SearchParams } from '../../shared/bridge';
import { BridgeError } from '../../shared/bridge';
import { billFileName, safeFileName, UniqueNames } from '../../shared/files';
import { renderBillPdf } from '../../server/pdf/bill-pdf';
import type { ArchiveClient } from '../../shared/archive-client';
import { periodText } from '../../shared/period';

/** The part of Electron's dialog we use (a fake in tests). */
export interface DialogLike {
  showSaveDialog(opts: { title: string; defaultPath: string; filters: { name: string; extensions: string[] }[] }): Promise<{ canceled: boolean; filePath?: string }>;
  showOpenDialog(opts: { title: string; properties: ('openDirectory' | 'createDirectory')[] }): Promise<{ canceled: boolean; filePaths: string[] }>;
}

export interface ExporterDeps {
  dialog: DialogLike;
  downloadsDir: string;
  progress(p: BulkExportProgress): void;
  renderPdf?: typeof renderBillPdf;
  /** Bills fetched and rendered at a time in a bulk export. */
  concurrency?: number;
}

export class Exporter {
  private readonly running = new Map<string, AbortController>();
  private counter = 0;

  constructor(private readonly deps: ExporterDeps) {}

  async pdf(api: ArchiveClient, invoice: string): Promise<ExportResult> {
    const bill = await api.snapshot(invoice);
    const name = billFileName(bill.company_name, bill.company_account_number, bill.billing_year, bill.billing_month, 'pdf');
    const target = await this.deps.dialog.showSaveDialog({ title: `Export ${invoice} as PDF`, defaultPath: path.join(this.deps.downloadsDir, name), filters: [{ name: 'PDF', extensions: ['pdf'] }] });
    if (target.canceled || !target.filePath) return { file: null, bytes: 0 };
    const data = await (this.deps.renderPdf ?? renderBillPdf)(bill);
    await writeAtomically(target.filePath, data);
    return { file: target.filePath, bytes: data.length };
  }

  async csv(api: ArchiveClient, invoice: string): Promise<ExportResult> {
    const { data, fileName } = await api.file(invoice, 'csv');
    // The server suggests the name: only a plain base name of it is used, always ending .csv.
    let name = safeFileName(fileName ?? '') || safeFileName(`${invoice}.csv`) || 'invoice.csv';
    if (!/\.csv$/i.test(name)) name += '.csv';
    const target = await this.deps.dialog.showSaveDialog({ title: `Export ${invoice} as CSV`, defaultPath: path.join(this.deps.downloadsDir, name), filters: [{ name: 'CSV', extensions: ['csv'] }] });
    if (target.canceled || !target.filePath) return { file: null, bytes: 0 };
    await writeAtomically(target.filePath, Buffer.from(data));
    return { file: target.filePath, bytes: data.length };
  }

  cancel(exportId: string): void {
    this.running.get(exportId)?.abort();
  }

  async bulkPdf(api: ArchiveClient, params: SearchParams, opts: { folder?: string } = {}): Promise<BulkExportResult> {
    const exportId = `export-${++this.counter}-${Date.now()}`;
    let folder = opts.folder;
    if (!folder) {
      const chosen = await this.deps.dialog.showOpenDialog({ title: 'Export the bills of this search as PDF into…', properties: ['openDirectory', 'createDirectory'] });
      if (chosen.canceled || !chosen.filePaths[0]) return { exportId, folder: null, files: 0, manifest: null, state: 'not_started' };
      folder = chosen.filePaths[0];
    }
    const abort = new AbortController();
    this.running.set(exportId, abort);
    const manifest: string[][] = [];
    let manifestName = 'manifest.csv';
    let done = 0;
    let total = 0;
    let lastSent = 0;
    const report = (state: BulkExportProgress['state'], file: string | null, error?: string) => {
      const now = Date.now();
      if (state === 'running' && now - lastSent < 100 && done < total) return;
      lastSent = now;
      this.deps.progress({ exportId, done, total, file, state, error });
    };
    try {
      // Every invoice of the search, in its order (pages of 1,000).
      const invoices = (await api.allResults(params, abort.signal, (_done, all) => (total = all))).map((r) => r.invoice_number);
      total = invoices.length;
      report('running', null);
      await fs.mkdir(folder, { recursive: true });
      // Files already in the folder are never overwritten: new names step around them.
      const names = new UniqueNames();
      names.reserve(await fs.readdir(folder));
      manifestName = names.take('manifest.csv');
      let next = 0;
      const worker = async () => {
        while (next < invoices.length && !abort.signal.aborted) {
          const invoice = invoices[next++];
          const bill = await api.snapshot(invoice, abort.signal);
          const data = await (this.deps.renderPdf ?? renderBillPdf)(bill);
          const name = names.take(billFileName(bill.company_name, bill.company_account_number, bill.billing_year, bill.billing_month, 'pdf'), bill.invoice_number);
          await writeAtomically(path.join(folder!, name), data);
          manifest.push([name, bill.invoice_number, bill.company_name ?? '', periodText(bill.billing_year, bill.billing_month), bill.total_amount, bill.content_hash]);
          done++;
          report('running', name);
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.deps.concurrency ?? 4, Math.max(1, invoices.length)) }, worker));
      const state = abort.signal.aborted ? 'cancelled' : 'done';
      const manifestFile = await this.writeManifest(folder, manifest, manifestName);
      report(state, null);
      return { exportId, folder, files: manifest.length, manifest: manifestFile, state };
    } catch (err) {
      const cancelled = abort.signal.aborted || (err instanceof BridgeError && err.code === 'cancelled');
      const manifestFile = manifest.length ? await this.writeManifest(folder, manifest, manifestName) : null;
      const message = (err as Error).message;
      report(cancelled ? 'cancelled' : 'failed', null, cancelled ? undefined : message);
      return { exportId, folder, files: manifest.length, manifest: manifestFile, state: cancelled ? 'cancelled' : 'failed', error: cancelled ? undefined : message };
    } finally {
      this.running.delete(exportId);
    }
  }

  private async writeManifest(folder: string, rows: string[][], name = 'manifest.csv'): Promise<string> {
    const file = path.join(folder, name);
    const sorted = [...rows].sort((a, b) => a[0].localeCompare(b[0]));
    await writeAtomically(file, Buffer.from(stringify([['file', 'invoice_number', 'company', 'period', 'total_amount', 'content_hash'], ...sorted])));
    return file;
  }
}

async function writeAtomically(file: string, data: Buffer): Promise<void> {
  const tmp = `${file}.part`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}
