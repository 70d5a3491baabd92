/**
 * The main process's client of the Archive server: JSON with the admin token, a timeout,
 * and every failure turned into a BridgeError the renderer can show (the server's own
 * message for API errors; "cannot reach" for the network).
 */
import { BridgeError, errorFromResponse } from '../../shared/bridge-error';
import { fileNameOf } from '../../shared/files';

export type FetchLike = typeof fetch;

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
    private readonly fetchImpl: FetchLike = fetch,
    private readonly timeoutMs = 30_000,
  ) {}

  private url(path: string): string {
    return this.baseUrl.replace(/\/+$/, '') + path;
  }

  async request(path: string, init: RequestInit & { json?: unknown; signal?: AbortSignal; auth?: boolean } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (init.auth !== false && this.token) headers.set('Authorization', `Bearer ${this.token}`);
    if (init.json !== undefined) headers.set('Content-Type', 'application/json');
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path), {
        ...init,
        headers,
        body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
        signal: init.signal ? AbortSignal.any([init.signal, timeout]) : timeout,
      });
    } catch (err) {
      if (init.signal?.aborted) throw new BridgeError('cancelled', 'Cancelled');
      const code = (err as { cause?: { code?: string } }).cause?.code;
      const why = timeout.aborted ? `no answer within ${this.timeoutMs / 1000} s` : code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' ? 'unknown host' : (err as Error).message;
      throw new BridgeError('unreachable', `Cannot reach the server at ${this.baseUrl}: ${why}`);
    }
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }

  async json<T>(path: string, init: Parameters<ApiClient['request']>[1] = {}): Promise<T> {
    return (await (await this.request(path, init)).json()) as T;
  }

  async bytes(path: string, signal?: AbortSignal): Promise<{ data: Buffer; fileName: string | null; type: string }> {
    const res = await this.request(path, { signal });
    return { data: Buffer.from(await res.arrayBuffer()), fileName: fileNameOf(res.headers.get('content-disposition')), type: res.headers.get('content-type') ?? '' };
  }
}

export { readEvents } from '../../shared/sse';
