/**
 * Calling Ledger and Codex: JSON over HTTP with a bearer token, a timeout per attempt, and
 * retries with exponential backoff and full jitter on network errors, timeouts and 5xx.
 * 4xx is never retried: it is an answer. Every failure says which service, what was
 * asked, and what came back, so a job's error column reads as a diagnosis.
 */
import { Agent, request } from 'undici';

const AGENT = new Agent({ keepAliveTimeout: 30_000, connections: 64 });

export interface PeerOptions {
  /** Display name for messages: "Ledger", "Codex". */
  name: string;
  baseUrl: string;
  token: string;
  timeoutMs: number;
  /** Retries after the first attempt. */
  retries: number;
  /** First backoff delay; doubles per retry, capped at maxBackoffMs; full jitter. */
  backoffMs: number;
  maxBackoffMs?: number;
  signal?: AbortSignal;
  /**
   * Leave a 200 answer's body as text (`body` undefined): for a caller that parses it
   * elsewhere, such as a run's worker threads. Every other answer is parsed as always.
   */
  rawSuccess?: boolean;
  /** Largest answer read, in bytes; a larger one is a `too_large` failure (not retried). */
  maxBytes?: number;
}

export interface PeerResponse<T> {
  status: number;
  body: T;
  /** The body as received, kept as evidence. */
  text: string;
  attempts: number;
}

export class PeerError extends Error {
  constructor(
    message: string,
    readonly kind: 'network' | 'timeout' | 'http' | 'invalid_response' | 'aborted' | 'too_large',
    readonly status: number | undefined,
    readonly attempts: number,
  ) {
    super(message);
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export function backoffDelay(retry: number, base: number, max: number, random = Math.random): number {
  return Math.round(random() * Math.min(max, base * 2 ** retry));
}

/**
 * GETs `path` and returns the parsed JSON with its status. Resolves for 2xx and 4xx (the
 * caller decides what a 404 means); throws PeerError for everything that stays wrong after
 * the retries.
 */
export async function getJson<T = unknown>(opts: PeerOptions, path: string): Promise<PeerResponse<T>> {
  const url = new URL(path, opts.baseUrl.endsWith('/') ? opts.baseUrl : opts.baseUrl + '/').toString();
  const what = `${opts.name} GET ${path}`;
  let last: PeerError | undefined;
  for (let attempt = 1; attempt <= opts.retries + 1; attempt++) {
    if (attempt > 1) await sleep(backoffDelay(attempt - 2, opts.backoffMs, opts.maxBackoffMs ?? 5_000), opts.signal);
    if (opts.signal?.aborted) throw new PeerError(`${what}: cancelled`, 'aborted', undefined, attempt - 1);
    // One controller per attempt: our timeout or the caller's cancel abort it. (AbortSignal.any
    // on a long-lived signal keeps every attempt's signal alive in Node 20.)
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort(new Error('timeout'));
    }, opts.timeoutMs);
    const onCancel = () => ac.abort(opts.signal!.reason);
    opts.signal?.addEventListener('abort', onCancel, { once: true });
    let res: { status: number; text: string | undefined };
    try {
      const r = await request(url, { method: 'GET', headers: { authorization: `Bearer ${opts.token}`, accept: 'application/json' }, signal: ac.signal, dispatcher: AGENT });
      res = { status: r.statusCode, text: await readCapped(r.body, Number(r.headers['content-length'] ?? NaN), opts.maxBytes) };
    } catch (err) {
      if (opts.signal?.aborted) throw new PeerError(`${what}: cancelled`, 'aborted', undefined, attempt);
      last = timedOut ? new PeerError(`${what}: no answer within ${opts.timeoutMs} ms`, 'timeout', undefined, attempt) : new PeerError(`${what}: ${networkReason(err)}`, 'network', undefined, attempt);
      continue;
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onCancel);
    }
    if (res.text === undefined) {
      throw new PeerError(`${what}: answer too large (more than ${opts.maxBytes} bytes; PEER_MAX_BYTES sets the limit)`, 'too_large', res.status, attempt);
    }
    const text = res.text;
    if (res.status >= 500) {
      last = new PeerError(`${what}: ${opts.name} answered ${res.status}${errorText(text)}`, 'http', res.status, attempt);
      continue;
    }
    if (opts.rawSuccess && res.status === 200) return { status: res.status, body: undefined as T, text, attempts: attempt };
    let body: T;
    try {
      body = JSON.parse(text) as T;
    } catch {
      throw new PeerError(`${what}: ${opts.name} answered ${res.status} with something that is not JSON (${text.slice(0, 120)})`, 'invalid_response', res.status, attempt);
    }
    if (res.status === 401 || res.status === 403) {
      throw new PeerError(`${what}: ${opts.name} refused our token (${res.status}${errorText(text)}); check ${opts.name.toUpperCase()}_TOKEN or SERVICE_TOKEN`, 'http', res.status, attempt);
    }
    return { status: res.status, body, text, attempts: attempt };
  }
  throw last!;
}

/** The body as text, or undefined (and the rest unread) once it is longer than `max` bytes. */
async function readCapped(body: import('undici').Dispatcher.ResponseData['body'], declared: number, max: number | undefined): Promise<string | undefined> {
  if (max === undefined) return body.text();
  // Closing the stream early aborts the request: that error is expected and goes nowhere.
  body.on('error', () => undefined);
  if (declared > max) {
    body.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > max) break; // leaving the loop closes the stream
    chunks.push(chunk as Buffer);
  }
  return size > max ? undefined : Buffer.concat(chunks).toString('utf8');
}

function errorText(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: unknown; message?: unknown };
    const m = j.error ?? j.message;
    if (typeof m === 'string') return `: ${m}`;
  } catch {
    /* not JSON */
  }
  return text ? `: ${text.slice(0, 200)}` : '';
}

function networkReason(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ? e.cause : e;
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the service running at that address?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name cannot be resolved';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the connection was reset';
    default:
      return cause?.message ?? (err as Error).message;
  }
}
