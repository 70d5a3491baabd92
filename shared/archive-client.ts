/**
 * The one typed client of Archive's REST API, typed by the shared schemas: the desktop's main
 * process, the web bridge, `archive test-workflow` and the tests call the server through it.
 * Every failure is a BridgeError: the server's own message and code for an API error,
 * `unreachable` (with the reason) when nothing answers, `cancelled` when the caller stopped.
 * Browser-safe: fetch, no Node imports.
 */
import type { CompanyHistory, SearchResult, SnapshotDetail, SnapshotSummary, Stats } from './api';
import {
  API_CALLS,
  queryString,
  revisionQuery,
  type ApiCall,
  type ApiCallArgs,
  type ApiCallResult,
  type ApiRequest,
  type JobsPage,
  type JobWithItems,
  type RunStarted,
  type SearchParams,
} from './api-calls';
import { BridgeError, errorFromResponse } from './bridge-error';
import { fileNameOf, type BillExport } from './files';
import { runEventOf, type Job, type RunEvent, type SchedulerConfig, type SchedulerConfigUpdate } from './runs';
import { readEvents } from './sse';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ClientOptions {
  fetch?: FetchLike;
  /** Per request; 0 waits as long as the server takes (event streams). */
  timeoutMs?: number;
  /** Told after each call whether the server answered (for "connection lost" banners). */
  onReachable?: (reachable: boolean, message: string | null) => void;
}

/** A call's options: fetch's, plus a JSON body, a caller's signal, no token (`auth: false`) and its own timeout. */
export type Init = Omit<RequestInit, 'signal'> & { json?: unknown; signal?: AbortSignal; auth?: boolean; timeoutMs?: number };

/** `GET /health`'s answer (also when it is 503, degraded). */
export interface Health {
  status?: string;
  service?: string;
  database?: string;
  version?: string;
}

/** A bill's file as the server serves it, with the name it suggests (already made safe). */
export interface BillFile {
  data: Uint8Array;
  fileName: string | null;
  type: string;
}

export { queryString };

/** Bills fetched per page when a caller wants every bill of a search. */
export const PAGE = 1000;

export class ArchiveClient {
  readonly baseUrl: string;
  private readonly fetchImpl: FetchLike;
  private readonly timeoutMs: number;

  constructor(
    baseUrl: string,
    private readonly token: string | undefined,
    private readonly opts: ClientOptions = {},
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.fetchImpl = opts.fetch ?? ((input, init) => fetch(input, init));
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** One call; resolves only with a 2xx answer. */
  async request(path: string, init: Init = {}): Promise<Response> {
    const res = await this.send(path, init);
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }

  /**
   * One call that resolves with whatever the server answers, refusals included (the tests of the
   * protocol itself read statuses and headers through it); only a server that does not answer
   * rejects (`unreachable`, `cancelled`).
   */
  async send(path: string, init: Init = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (init.auth !== false && this.token) headers.set('Authorization', `Bearer ${this.token}`);
    if (init.json !== undefined) headers.set('Content-Type', 'application/json');
    const ms = init.timeoutMs ?? this.timeoutMs;
    const timeout = ms > 0 ? AbortSignal.timeout(ms) : undefined;
    const signals = [init.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
    let res: Response;
    try {
      res = await this.fetchImpl(this.baseUrl + path, {
        ...init,
        headers,
        body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
        signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
      });
    } catch (err) {
      if (init.signal?.aborted) throw new BridgeError('cancelled', 'Cancelled');
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = timeout?.aborted
        ? `no answer within ${ms / 1000} s`
        : cause?.code === 'ECONNREFUSED'
          ? 'connection refused'
          : cause?.code === 'ENOTFOUND'
            ? 'unknown host'
            : (cause?.message ?? (err as Error).message);
      const message = `Cannot reach the server at ${this.baseUrl}: ${why}`;
      this.opts.onReachable?.(false, message);
      throw new BridgeError('unreachable', message);
    }
    this.opts.onReachable?.(true, null);
    return res;
  }

  async json<T>(path: string, init: Init = {}): Promise<T> {
    return (await (await this.request(path, init)).json()) as T;
  }

  /** `/health` without a token: its answer, or null when the server says it is degraded (503). */
  async health(): Promise<Health | null> {
    try {
      return await this.json<Health>('/health', { auth: false, timeoutMs: Math.min(this.timeoutMs, 10_000) });
    } catch (err) {
      if (err instanceof BridgeError && err.status === 503) return null;
      throw err;
    }
  }

  /** A call of the API's table (shared/api-calls.ts) by its name, e.g. `call('snapshots:get', invoice)`. */
  call<C extends ApiCall>(name: C, ...args: [...ApiCallArgs<C>, signal?: AbortSignal]): Promise<ApiCallResult<C>>;
  async call(name: ApiCall, ...args: unknown[]): Promise<unknown> {
    const entry = API_CALLS[name];
    const arity = entry.args.def.items.length;
    const signal = args.length > arity ? (args[arity] as AbortSignal | undefined) : undefined;
    const req = (entry.request as (...a: unknown[]) => ApiRequest)(...args.slice(0, arity));
    return this.json(req.path, { method: req.method, json: req.json, signal });
  }

  search(params: SearchParams, signal?: AbortSignal): Promise<SearchResult> {
    return this.call('snapshots:search', params, signal);
  }

  /** Every bill of a search, in its order, fetched in pages of 1,000 (`onPage` after each). */
  async allResults(params: SearchParams, signal?: AbortSignal, onPage?: (done: number, total: number) => void): Promise<SnapshotSummary[]> {
    const { limit: _limit, offset: _offset, ...filters } = params;
    const out: SnapshotSummary[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.search({ ...filters, limit: String(PAGE), offset: String(offset) }, signal);
      out.push(...page.results);
      onPage?.(out.length, Math.max(page.total, out.length));
      // A bounded count (total_exact false) says "at least": page on until a page comes back short.
      if (page.results.length < PAGE || (page.total_exact !== false && out.length >= page.total)) return out;
    }
  }

  snapshot(invoice: string, signal?: AbortSignal, revision?: number): Promise<SnapshotDetail> {
    return this.call('snapshots:get', invoice, revision, signal);
  }

  /** The bill's CSV (Ledger's own bytes) or PDF, with the file name the server suggests. */
  async file(invoice: string, kind: BillExport, signal?: AbortSignal, revision?: number): Promise<BillFile> {
    const res = await this.request(`/api/snapshot/${encodeURIComponent(invoice)}/${kind}${revisionQuery(revision)}`, { signal });
    return { data: new Uint8Array(await res.arrayBuffer()), fileName: fileNameOf(res.headers.get('content-disposition')), type: res.headers.get('content-type') ?? '' };
  }

  company(account: string, page: { limit: number; offset: number }): Promise<CompanyHistory> {
    return this.call('snapshots:company', account, page);
  }

  stats(): Promise<Stats> {
    return this.call('snapshots:stats');
  }

  jobs(filter: ApiCallArgs<'jobs:list'>[0] = {}): Promise<JobsPage> {
    return this.call('jobs:list', filter);
  }

  job(id: string, filter: ApiCallArgs<'jobs:get'>[1] = {}): Promise<JobWithItems> {
    return this.call('jobs:get', id, filter);
  }

  startRun(req: ApiCallArgs<'runs:start'>[0]): Promise<RunStarted> {
    return this.call('runs:start', req);
  }

  cancelRun(id: string): Promise<Job> {
    return this.call('runs:cancel', id);
  }

  resumeRun(id: string): Promise<RunStarted> {
    return this.call('runs:resume', id);
  }

  /** Follows a job's event stream until its `end` (or the signal). */
  async events(id: string, onEvent: (event: RunEvent) => void, signal?: AbortSignal): Promise<void> {
    const res = await this.request(`/api/runs/${encodeURIComponent(id)}/events`, { signal, timeoutMs: 0 });
    await readEvents(res, (type, data) => {
      const event = runEventOf(type, data);
      if (event) onEvent(event);
    });
  }

  schedule(): Promise<SchedulerConfig> {
    return this.call('schedule:get');
  }

  updateSchedule(patch: SchedulerConfigUpdate): Promise<SchedulerConfig> {
    return this.call('schedule:update', patch);
  }
}
