/**
 * The same bridge for a plain browser (the end-to-end tests in Chromium, and a quick look
 * without Electron): it calls the server over HTTP with the token typed in Connect, keeps
 * that token in memory only, and turns file exports into downloads.
 */
import type { CompanyHistory, SearchResult, SnapshotDetail, Stats } from '../../../shared/api';
import { errorFromResponse } from '../../../shared/bridge-error';
import { BridgeError, type ArchiveBridge, type BulkExportProgress, type ConnectionReport, type ConnectionStatus, type SavedServer } from '../../../shared/bridge';
import { ADMIN_PROBE, checkConnection, queryString } from '../../../shared/connection';
import { billFileName, fileNameOf, UniqueNames } from '../../../shared/files';
import type { Job, RunEvent, SchedulerConfig } from '../../../shared/runs';
import { readEvents } from '../../../shared/sse';
import { periodText } from '../../../shared/period';

const KEY = 'archive.servers';

export function createWebBridge(): ArchiveBridge {
  const tokens = new Map<string, string>();
  let current: SavedServer | null = null;
  let status: ConnectionStatus = { server: null, online: false, message: null, checkedAt: null };
  const statusListeners = new Set<(s: ConnectionStatus) => void>();
  const progressListeners = new Set<(p: BulkExportProgress) => void>();
  const cancelled = new Set<string>();

  const saved = (): Omit<SavedServer, 'hasToken' | 'sessionOnly'>[] => JSON.parse(localStorage.getItem(KEY) ?? '[]');
  const view = (s: Omit<SavedServer, 'hasToken' | 'sessionOnly'>): SavedServer => ({ ...s, hasToken: tokens.has(s.id), sessionOnly: true });
  const setStatus = (s: ConnectionStatus) => {
    status = s;
    for (const l of statusListeners) l(s);
  };

  async function request(url: string, token: string | undefined, path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (token) headers.set('Authorization', `Bearer ${token}`);
    if (init.json !== undefined) headers.set('Content-Type', 'application/json');
    let res: Response;
    try {
      res = await fetch(url.replace(/\/+$/, '') + path, { ...init, headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body });
    } catch (err) {
      if (current) setStatus({ server: current, online: false, message: `Cannot reach ${url}`, checkedAt: new Date().toISOString() });
      throw new BridgeError('unreachable', `Cannot reach the server at ${url}: ${(err as Error).message}`);
    }
    if (current && !status.online) setStatus({ server: current, online: true, message: null, checkedAt: new Date().toISOString() });
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }
  const api = async <T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> => {
    if (!current) throw new BridgeError('not_connected', 'Not connected to a server: choose one in Connect');
    return (await (await request(current.url, tokens.get(current.id), path, init)).json()) as T;
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

  const test = (url: string, token: string | undefined): Promise<ConnectionReport> =>
    checkConnection(
      url,
      Boolean(token),
      async () => {
        let res: Response;
        try {
          res = await fetch(url.replace(/\/+$/, '') + '/health');
        } catch (err) {
          throw new BridgeError('unreachable', `Cannot reach the server at ${url}: ${(err as Error).message}`);
        }
        return res.status === 503 ? null : await res.json();
      },
      () => request(url, token, ADMIN_PROBE),
    );

  return {
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
        tokens.delete(id);
        if (current?.id === id) current = null;
      },
      test: async ({ url, token, serverId }) => test(url, token ?? (serverId ? tokens.get(serverId) : undefined)),
      connect: async (id) => {
        const s = saved().find((x) => x.id === id);
        if (!s) throw new BridgeError('not_found', 'This server is not saved (any more)');
        const report = await test(s.url, tokens.get(id));
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
    snapshots: {
      search: (params) => api<SearchResult>(`/api/snapshots/search?${new URLSearchParams(params as Record<string, string>)}`),
      get: (invoice) => api<SnapshotDetail>(`/api/snapshot/${encodeURIComponent(invoice)}`),
      company: (account, page) => api<CompanyHistory>(`/api/snapshots/company/${encodeURIComponent(account)}?limit=${page.limit}&offset=${page.offset}`),
      stats: () => api<Stats>('/api/stats'),
    },
    exports: {
      pdf: async (invoice) => {
        const res = await request(current!.url, tokens.get(current!.id), `/api/snapshot/${encodeURIComponent(invoice)}/pdf`);
        const blob = await res.blob();
        const name = fileNameOf(res.headers.get('content-disposition')) ?? `${invoice}.pdf`;
        download(blob, name);
        return { file: name, bytes: blob.size };
      },
      csv: async (invoice) => {
        const bill = await api<SnapshotDetail>(`/api/snapshot/${encodeURIComponent(invoice)}`);
        const name = billFileName(bill.company_name, bill.company_account_number, bill.billing_year, bill.billing_month, 'csv');
        const blob = new Blob([bill.invoice_csv], { type: 'text/csv' });
        download(blob, name);
        return { file: name, bytes: blob.size };
      },
      bulkPdf: async (params) => {
        const exportId = `web-${Date.now()}`;
        const page = await api<SearchResult>(`/api/snapshots/search?${new URLSearchParams({ ...(params as Record<string, string>), limit: '1000', offset: '0' })}`);
        const rows: string[] = ['file,invoice_number,company,period,total_amount,content_hash'];
        let done = 0;
        const emit = (state: BulkExportProgress['state'], file: string | null) => progressListeners.forEach((l) => l({ exportId, done, total: page.results.length, file, state }));
        const names = new UniqueNames();
        names.take('manifest.csv');
        for (const r of page.results) {
          if (cancelled.has(exportId)) {
            emit('cancelled', null);
            return { exportId, folder: 'Downloads', files: done, manifest: null, state: 'cancelled' };
          }
          const res = await request(current!.url, tokens.get(current!.id), `/api/snapshot/${encodeURIComponent(r.invoice_number)}/pdf`);
          const name = names.take(billFileName(r.company_name, r.company_account_number, r.billing_year, r.billing_month, 'pdf'), r.invoice_number);
          download(await res.blob(), name);
          rows.push([name, r.invoice_number, `"${(r.company_name ?? '').replace(/"/g, '""')}"`, periodText(r.billing_year, r.billing_month), r.total_amount, r.content_hash].join(','));
          done++;
          emit('running', name);
        }
        download(new Blob([rows.join('\r\n') + '\r\n'], { type: 'text/csv' }), 'manifest.csv');
        emit('done', null);
        return { exportId, folder: 'Downloads', files: done, manifest: 'manifest.csv', state: 'done' };
      },
      cancel: async (id) => void cancelled.add(id),
      onProgress: (l) => {
        progressListeners.add(l);
        return () => progressListeners.delete(l);
      },
    },
    jobs: {
      list: (f) => api(`/api/scheduler/jobs?${queryString(f)}`),
      get: (id, f) => api(`/api/scheduler/jobs/${id}?${queryString(f)}`),
      watch: (id, listener) => {
        const abort = new AbortController();
        void (async () => {
          try {
            const res = await request(current!.url, tokens.get(current!.id), `/api/runs/${id}/events`, { signal: abort.signal });
            await readEvents(res, (_t, data) => listener(data as RunEvent));
          } catch {
            /* ended or cancelled */
          }
        })();
        return () => abort.abort();
      },
    },
    runs: {
      start: (req) => api('/api/runs', { method: 'POST', json: req }),
      cancel: (id) => api<Job>(`/api/runs/${id}/cancel`, { method: 'POST' }),
      resume: (id) => api(`/api/runs/${id}/resume`, { method: 'POST' }),
    },
    schedule: {
      get: () => api<SchedulerConfig>('/api/scheduler/config'),
      update: (patch) => api<SchedulerConfig>('/api/scheduler/config', { method: 'POST', json: patch }),
    },
  };
}
