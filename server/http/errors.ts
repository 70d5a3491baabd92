/**
 * The HTTP face of errors: each code's status, and the middleware that turns every failure
 * (our ArchiveError, the body parser's, PostgreSQL's, Node's parser's) into one JSON shape.
 */
import type Koa from 'koa';
import type { ErrorBody, ErrorCode } from '../../shared/errors';
import { ArchiveError, driverError } from '../errors';

/** The HTTP status of each code: the one place codes meet HTTP. */
export const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  validation_failed: 400,
  invalid_json: 400,
  empty_body: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  already_archived: 409,
  run_in_progress: 409,
  invalid_state: 409,
  request_timeout: 408,
  payload_too_large: 413,
  too_many_subscribers: 429,
  headers_too_large: 431,
  unsupported_media_type: 415,
  totals_mismatch: 422,
  period_not_ended: 422,
  dependency_unavailable: 503,
  database_read_only: 503,

  not_implemented: 501,
  internal: 500,
};

const PG_UNAVAILABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
const DROPPED_CONNECTION = /Connection terminated|connection (is )?closed|Client has encountered a connection error|terminating connection|Connection ended unexpectedly/i;

/** Maps anything thrown to `{error, code, details}` and logs what needs a look. */
export function errorMiddleware(): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new ArchiveError('not_found', `No route for ${ctx.method} ${ctx.path}`);
      }
      if (ctx.status === 405 && !ctx.body) {
        throw new ArchiveError('method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}; allowed: ${ctx.response.get('Allow')}`);
      }
      if (ctx.status === 501 && !ctx.body) {
        throw new ArchiveError('not_implemented', `The server does not support the method ${ctx.method}; ${ctx.path} allows ${ctx.response.get('Allow')}`);
      }
    } catch (err) {
      const error = toArchiveError(err);
      const status = STATUS[error.code];
      if (status === 503) logUnavailable(ctx.state.log, error, err);
      else if (status >= 500) ctx.state.log?.error({ err }, 'request failed');
      const body: ErrorBody = { error: error.message, code: error.code, request_id: ctx.state.requestId };
      if (error.details) body.details = error.details;
      ctx.status = status;
      ctx.body = body;
      if (error.code === 'unauthorized') ctx.set('WWW-Authenticate', 'Bearer');
    }
  };
}

/**
 * A database that is down turns every request into a 503: one warning line per reason (no
 * stack) when it starts, then at most one every 10 s saying how many more there were.
 */
const unavailableSeen = new Map<string, { at: number; more: number }>();
function logUnavailable(log: { warn(obj: object, msg: string): void } | undefined, error: ArchiveError, err: unknown): void {
  const now = Date.now();
  const seen = unavailableSeen.get(error.message);
  if (seen && now - seen.at < 10_000) {
    seen.more++;
    return;
  }
  const cause = err as { code?: unknown; message?: unknown };
  log?.warn(
    {
      code: error.code,
      cause_code: typeof cause?.code === 'string' ? cause.code : undefined,
      cause: typeof cause?.message === 'string' ? cause.message.slice(0, 200) : undefined,
      more_since_last: seen?.more ?? 0,
    },
    `answering 503: ${error.message}`,
  );
  unavailableSeen.set(error.message, { at: now, more: 0 });
}

/** An empty body is its own mistake (a file that was not there, a pipe that gave nothing), not eight missing fields. */
export const EMPTY_BODY = () => new ArchiveError('empty_body', 'The request has no body: post the bill as JSON (with curl, --data-binary @file.json names a file that must exist)');

function toArchiveError(err: unknown): ArchiveError {
  if (err instanceof ArchiveError) return err;
  const e = driverError(err) as { status?: number; type?: string; code?: string; expose?: boolean; message?: string; limit?: number };
  if (e?.type === 'entity.too.large' || e?.status === 413) {
    return new ArchiveError('payload_too_large', `Request body is larger than the limit of ${e.limit ?? 'the server'} bytes`, { limit_bytes: e.limit });
  }
  if (/forbidden prototype property/.test(e?.message ?? '')) {
    return new ArchiveError('invalid_json', 'Request body has a "__proto__" key, which is not accepted in any object');
  }
  if (typeof e?.code === 'string' && (e.code.startsWith('Z_') || e.code.startsWith('ERR__ERROR_'))) {
    return new ArchiveError('bad_request', `The request body cannot be decompressed as its Content-Encoding says (${e.message ?? e.code})`);
  }
  if ((e?.type === 'entity.parse.failed' || e?.status === 400) && typeof (e as { body?: unknown }).body === 'string' && !(e as { body: string }).body.trim()) return EMPTY_BODY();
  if (e?.type === 'entity.parse.failed' || (e?.status === 400 && /JSON/i.test(e.message ?? ''))) {
    return new ArchiveError('invalid_json', `Request body is not valid JSON: ${e.message}`);
  }
  if (e?.status === 415) return new ArchiveError('unsupported_media_type', 'Send the body as application/json');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    return new ArchiveError('unsupported_media_type', e.message ?? 'Unsupported body encoding');
  }
  if (e?.type === 'request.aborted' || e?.type === 'request.size.invalid') {
    return new ArchiveError(
      'bad_request',
      e.type === 'request.aborted' ? 'The request body ended before the length it announced (the client went away)' : 'The request body does not have the length its Content-Length says',
    );
  }
  // A value the database's own checks refuse (e.g. a schedule zone PostgreSQL does not know).
  if (e?.code === '23514') return new ArchiveError('validation_failed', `The database refused the value: ${e.message?.replace(/^.* - /, '') ?? 'a check failed'}`);
  if (e?.code === '25006')
    return new ArchiveError('database_read_only', 'The database is read-only at the moment (a standby, or default_transaction_read_only is on): nothing can be written; reading still works');
  if (e?.code === '57014') return new ArchiveError('dependency_unavailable', 'The database did not finish in time (DB_STATEMENT_TIMEOUT_MS); try again shortly');
  if (e?.code === '55P03') return new ArchiveError('dependency_unavailable', 'The database is busy: a lock was not granted in time (DB_LOCK_TIMEOUT_MS); try again shortly');
  if (e?.code && PG_UNAVAILABLE.has(e.code)) return new ArchiveError('dependency_unavailable', 'The database is not available; try again shortly');
  if (DROPPED_CONNECTION.test(e?.message ?? '')) return new ArchiveError('dependency_unavailable', 'The connection to the database was lost; try again shortly');
  if (e?.message?.includes('Knex: Timeout acquiring a connection')) {
    return new ArchiveError('dependency_unavailable', 'The database is busy or unavailable; try again shortly');
  }
  return new ArchiveError('internal', 'Internal error; the request id identifies it in the server log');
}

/**
 * What Node's HTTP parser refuses before Koa sees it (an unknown method, a bad header, a
 * request that took too long), answered in the API's JSON shape instead of bare text.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: import('node:stream').Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message]: [number, string, ErrorCode, string] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'The request headers are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'request_timeout', 'The request did not arrive in time']
        : [400, 'Bad Request', 'bad_request', 'The request cannot be read as HTTP (unknown method, or a malformed request line or header)'];
  const body = JSON.stringify({ error: message, code } satisfies ErrorBody);
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
