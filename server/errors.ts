/**
 * The one error type of Archive's rules: a code from the closed set in shared/errors.ts, a
 * message in the user's words and details. It knows nothing of HTTP: server/http/errors.ts
 * maps codes to statuses. Also the helpers that turn a schema's complaints into it.
 */
import type { z } from 'zod';
import type { ErrorCode, FieldError } from '../shared/errors';

export class ArchiveError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ArchiveError';
  }
}

export function validationError(fields: FieldError[], what = 'request'): ArchiveError {
  const summary = fields.map((f) => `${f.field} ${f.reason}`).join('; ');
  return new ArchiveError('validation_failed', `Invalid ${what}: ${summary}`, { fields });
}

/** Zod issues as `field: reason` pairs, with paths like `line_items[3].amount`. */
export function fieldErrorsFromZod(error: z.ZodError, input?: unknown): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ field: joinPath([...issue.path, key]), reason: 'is not a known parameter' });
      continue;
    }
    out.push({ field: joinPath(issue.path) || '(body)', reason: reasonOf(issue, valueAt(input, issue.path)) });
  }
  return out;
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let v = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function reasonOf(issue: z.core.$ZodIssue, value: unknown): string {
  if (value === undefined && issue.path.length > 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) return 'is required';
  if (issue.code === 'invalid_type') return `must be ${article(issue.expected)}`;
  if (issue.code === 'invalid_union') {
    // Our unions are "number or decimal string": say that, not two nested messages.
    return 'must be a number or a decimal string';
  }
  return issue.message;
}

function article(expected: string): string {
  if (expected === 'object') return 'a JSON object';
  if (expected === 'array') return 'an array';
  if (expected === 'int') return 'a whole number';
  return `a ${expected}`;
}

function joinPath(path: PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s;
}

/** Parses with a schema or throws a 400 that names every bad field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, what?: string): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) throw validationError(fieldErrorsFromZod(result.error, input), what);
  return result.data;
}

/** The driver's error behind one Objection wraps (CheckViolationError, DBError, ...), or the error itself. */
export function driverError(err: unknown): unknown {
  return (err as { nativeError?: unknown } | null)?.nativeError ?? err;
}
