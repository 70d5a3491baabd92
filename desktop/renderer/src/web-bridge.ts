/**
 * The same bridge for a plain browser (the end-to-end tests in Chromium, and a quick look
 * without Electron): it calls the server over HTTP with the token typed in Connect, keeps
 * that token in memory only, and turns file exports into downloads.
 */
import { ArchiveClient } from '../../../shared/archive-client';
import { API_CALLS, type ApiCall } from '../../../shared/api-calls';
import { BridgeError, type ApiBridgeCalls, type ArchiveBridge, type BulkExportProgress, type ConnectionStatus, type SavedServer } from '../../../shared/bridge';
import { placeCalls } from '../../../shared/bridge-calls';
import { checkConnection, savedServerUrl } from '../../../shared/connection';
import { billFile, bulkExport, type ExportSink } from '../../../shared/export';
import type { BillExport } from '../../../shared/files';
import { monitorCalls, type TrustRecord, type TrustStore } from '../../../shared/monitor';

const KEY = 'archive.servers';
const TRUST_KEY = 'archive.trust';

/** What the browser trusted of each server's log, in localStorage (the main process keeps a file). */
const localTrust: TrustStore = {
  get: (id) => (JSON.parse(localStorage.getItem(TRUST_KEY) ?? '{}') as Record<string, TrustRecord>)[id] ?? null,
  set: (id, record) => localStorage.setItem(TRUST_KEY, JSON.stringify({ ...JSON.parse(localStorage.getItem(TRUST_KEY) ?? '{}'), [id]: record })),
  remove: (id) => {
    const all = JSON.parse(localStorage.getItem(TRUST_KEY) ?? '{}') as Record<string, TrustRecord>;
    delete all[id];
    localStorage.setItem(TRUST_KEY, JSON.stringify(all));
  },
};

export function createWebBridge(): ArchiveBridge {
  const tokens = new Map<string, string>();
  let current: SavedServer | null = null;
  let status: ConnectionStatus = { server: null, online: false, message: null, checkedAt: null };
  const statusListeners = new Set<(s: ConnectionStatus) => void>();
  const progressListeners = new Set<(p: BulkExportProgress) => void>();
  const running = new Map<string, AbortController>();

  const saved = (): Omit<SavedServer, 'hasToken' | 'sessionOnly'>[] => JSON.parse(localStorage.getItem(KEY) ?? '[]');
  const view = (s: Omit<SavedServer, 'hasToken' | 'sessionOnly'>): SavedServer => ({ ...s, hasToken: tokens.has(s.id), sessionOnly: true });
  const setStatus = (s: ConnectionStatus) => {
    status = s;
    for (const l of statusListeners) l(s);
  };

  const clientFor = (url: string, token: string | undefined) =>
    new ArchiveClient(url, token, {
      onReachable: (reachable, message) => {
        if (!current || current.url !== url.replace(/\/+$/, '')) return;
        if (!reachable) setStatus({ server: current, online: false, message: message ?? `Cannot reach ${url}`, checkedAt: new Date().toISOString() });
        else if (!status.online) setStatus({ server: current, online: true, message: null, checkedAt: new Date().toISOString() });
      },
    });
  const api = (): ArchiveClient => {
    if (!current) throw new BridgeError('not_connected', 'Not connected to a server: choose one in Connect');
    return clientFor(current.url, tokens.get(current.id));
  };
  const download = (blob: Blob, name: string) => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  };

  /** The browser's downloads as the place exports go (it never overwrites; names are the ones given). */
  const downloads: ExportSink = { place: 'Downloads', existing: async () => [], write: async (name, data, type) => (download(new Blob([data as BlobPart], { type }), name), name) };
  const downloadFile = async (invoice: string, kind: BillExport, revision?: number) => {
    const f = await billFile(api(), invoice, kind, undefined, revision);
    download(new Blob([f.data as BlobPart], { type: f.type }), f.name);
    return { file: f.name, bytes: f.data.length };
  };

  // The plain API calls, each passed to the server as it is.
  const plain = placeCalls(
    Object.keys(API_CALLS) as ApiCall[],
    (name) =>
      async (...args: unknown[]) =>
        (api().call as (n: string, ...a: unknown[]) => Promise<unknown>)(name, ...args),
  ) as unknown as ApiBridgeCalls;

  const monitor = monitorCalls(localTrust, () => {
    if (!current) throw new BridgeError('not_connected', 'Not connected to a server: choose one in Connect');
    return { serverId: current.id, client: api() };
  });

  return {
    ...plain,
    integrity: { check: monitor.check, trust: monitor.trust, verifyBill: monitor.verifyBill },
    servers: {
      list: async () => saved().map(view),
      save: async (input) => {
        const list = saved();
        const url = input.url.replace(/\/+$/, '');
        let s = list.find((x) => x.url === url);
        if (!s) list.push((s = { id: crypto.randomUUID(), name: input.name, url }));
        s.name = input.name;
        localStorage.setItem(KEY, JSON.stringify(list));
        if (input.token) tokens.set(s.id, input.token);
        return view(s);
      },
      remove: async (id) => {
        localStorage.setItem(KEY, JSON.stringify(saved().filter((s) => s.id !== id)));
        localTrust.remove(id);
        tokens.delete(id);
        if (current?.id === id) current = null;
      },
      test: async ({ url, token, serverId }) => {
        if (serverId && !token) {
          // A saved token goes only to the address it was saved for.
          const s = saved().find((x) => x.id === serverId);
          if (!s) throw new BridgeError('not_found', 'This server is not saved (any more)');
          return checkConnection(savedServerUrl(s, url), tokens.get(serverId));
        }
        return checkConnection(url, token);
      },
      connect: async (id) => {
        const s = saved().find((x) => x.id === id);
        if (!s) throw new BridgeError('not_found', 'This server is not saved (any more)');
        const report = await checkConnection(s.url, tokens.get(id));
        if (report.auth === 'ok') {
          current = view(s);
          setStatus({ server: current, online: true, message: null, checkedAt: new Date().toISOString() });
        }
        return report;
      },
      current: async () => current,
      disconnect: async () => {
        current = null;
        setStatus({ server: null, online: false, message: null, checkedAt: null });
      },
      status: async () => status,
      onStatus: (l) => {
        statusListeners.add(l);
        return () => statusListeners.delete(l);
      },
    },
    exports: {
      // The same strategy as the desktop's main process (shared/export.ts); only the sink differs.
      pdf: (invoice, revision) => downloadFile(invoice, 'pdf', revision),
      csv: (invoice, revision) => downloadFile(invoice, 'csv', revision),
      bundle: (invoice, revision) => downloadFile(invoice, 'bundle', revision),
      bulkPdf: async (params) => {
        const exportId = `web-${Date.now()}`;
        const abort = new AbortController();
        running.set(exportId, abort);
        try {
          return await bulkExport(api(), params, downloads, { exportId, signal: abort.signal, progress: (p) => progressListeners.forEach((l) => l(p)), concurrency: 2 });
        } finally {
          running.delete(exportId);
        }
      },
      cancel: async (id) => running.get(id)?.abort(),
      onProgress: (l) => {
        progressListeners.add(l);
        return () => progressListeners.delete(l);
      },
    },
    jobs: {
      ...plain.jobs,
      watch: (id, listener) => {
        const abort = new AbortController();
        void (async () => {
          try {
            await api().events(id, listener, abort.signal);
          } catch {
            /* ended or cancelled */
          }
        })();
        return () => abort.abort();
      },
    },
  };
}
