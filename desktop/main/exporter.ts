/**
 * Exporting bills to files from the main process: one PDF or CSV through a save dialog, or
 * every bill of a search (e.g. a whole month) as PDFs into a folder, with progress, cancel and
 * a manifest. What is exported and how it is named is shared/export.ts, the same for the web
 * bridge; here is only the disk: dialogs, and files written whole (`.part`, then renamed).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ArchiveClient } from '../../shared/archive-client';
import type { BulkExportProgress, BulkExportResult, ExportResult, SearchParams } from '../../shared/bridge';
import { billFile, bulkExport, type ExportSink } from '../../shared/export';
import { BILL_EXPORTS, type BillExport } from '../../shared/files';

/** The part of Electron's dialog we use (a fake in tests). */
export interface DialogLike {
  showSaveDialog(opts: { title: string; defaultPath: string; filters: { name: string; extensions: string[] }[] }): Promise<{ canceled: boolean; filePath?: string }>;
  showOpenDialog(opts: { title: string; properties: ('openDirectory' | 'createDirectory')[] }): Promise<{ canceled: boolean; filePaths: string[] }>;
}

export interface ExporterDeps {
  dialog: DialogLike;
  downloadsDir: string;
  progress(p: BulkExportProgress): void;
  /** Bills fetched at a time in a bulk export. */
  concurrency?: number;
}

export class Exporter {
  private readonly running = new Map<string, AbortController>();
  private counter = 0;

  constructor(private readonly deps: ExporterDeps) {}

  /** The bill's PDF or CSV, saved where the person chooses (null when they cancel). */
  async file(api: ArchiveClient, invoice: string, kind: BillExport, revision?: number): Promise<ExportResult> {
    const f = await billFile(api, invoice, kind, undefined, revision);
    const { label, ext } = BILL_EXPORTS[kind];
    const target = await this.deps.dialog.showSaveDialog({
      title: `Export ${invoice} as ${label}`,
      defaultPath: path.join(this.deps.downloadsDir, f.name),
      filters: [{ name: label, extensions: [ext.split('.').at(-1)!] }],
    });
    if (target.canceled || !target.filePath) return { file: null, bytes: 0 };
    await writeWhole(target.filePath, f.data);
    return { file: target.filePath, bytes: f.data.length };
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
    try {
      return await bulkExport(api, params, folderSink(folder), { exportId, signal: abort.signal, progress: this.deps.progress, concurrency: this.deps.concurrency });
    } finally {
      this.running.delete(exportId);
    }
  }
}

/** A folder on disk (created when missing) as the place a bulk export writes to. */
function folderSink(folder: string): ExportSink {
  let made: Promise<unknown> | undefined;
  return {
    place: folder,
    existing: async () => {
      await (made ??= fs.mkdir(folder, { recursive: true }));
      return fs.readdir(folder);
    },
    write: async (name, data) => {
      const file = path.join(folder, name);
      await writeWhole(file, data);
      return file;
    },
  };
}

/** A file appears whole or not at all. */
async function writeWhole(file: string, data: Uint8Array): Promise<void> {
  const tmp = `${file}.part`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}
