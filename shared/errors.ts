/** The closed set of error codes the server answers with; clients switch on `code`. */
export const ERROR_CODES = [
  'bad_request', // 400: the request itself cannot be read (a malformed request line or header)
  'validation_failed', // 400: a field or parameter is wrong (details.fields names each)
  'invalid_json', // 400: the body is not JSON
  'empty_body', // 400: the request has no body at all
  'unauthorized', // 401: no or unknown token
  'forbidden', // 403: the token may not do this
  'not_found', // 404
  'method_not_allowed', // 405
  'already_archived', // 409: this company and month (or invoice number) is archived
  'run_in_progress', // 409: a real run for this period is already going (details.job_id names it)
  'invalid_state', // 409: the job cannot do that now (e.g. resume a completed run)
  'request_timeout', // 408: the request's headers or body did not arrive in time
  'payload_too_large', // 413
  'headers_too_large', // 431
  'too_many_subscribers', // 429: too many live event streams are open (EVENTS_MAX_SUBSCRIBERS)
  'unsupported_media_type', // 415
  'totals_mismatch', // 422: line items or categories do not add up to the total
  'period_not_ended', // 422: a real run for a month that has not ended (details.state: open or future)
  'dependency_unavailable', // 503: the database or a peer is down, or too slow to answer in time
  'database_read_only', // 503: the database takes no writes now (a standby, default_transaction_read_only)
  'not_implemented', // 501: an HTTP method the server does not support
  'internal', // 500: a bug; the request id is in the log
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface FieldError {
  field: string;
  reason: string;
}

/** Every error body: `error` stays a readable string because Ledger displays it as is. */
export interface ErrorBody {
  error: string;
  code: ErrorCode;
  details?: Record<string, unknown>;
  request_id?: string;
}
