/**
 * What Archive can store exactly. Every text must survive PostgreSQL unchanged (no NUL, no
 * lone UTF-16 surrogate: PostgreSQL refuses the first and stores U+FFFD for the second, so
 * the stored bill would no longer match its hash), every number must be one that JSON
 * carries exactly between systems, and nesting has a bound. Checked on the whole decoded
 * body, keys included, before anything else looks at it. Browser-safe.
 */
import type { FieldError } from './errors';

/** Deepest nesting of arrays and objects accepted anywhere in a body (Ledger's bills nest 5 deep). */
export const MAX_JSON_DEPTH = 32;
/** Largest magnitude of any number: beyond ±(2^53 − 1) a JSON number is no longer exact in JavaScript. */
export const MAX_JSON_NUMBER = Number.MAX_SAFE_INTEGER;
/** Keys refused anywhere: JavaScript objects treat them as their prototype, not as data. */
const RESERVED_KEYS = new Set(['__proto__']);

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = '[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]';
/** NUL, or a lone surrogate. */
const UNSTORABLE_TEXT = new RegExp(`\\u0000|${LONE_SURROGATE}`);
const LONE_SURROGATES = new RegExp(LONE_SURROGATE, 'g');

/** String.prototype.isWellFormed (ES2024: Node 20, current browsers), where there is one. */
const wellFormed = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed;

export function textProblem(s: string): string | undefined {
  // Nearly every text is fine: two native scans say so faster than the expression below.
  if (wellFormed && !s.includes('\u0000') && wellFormed.call(s)) return undefined;
  const m = UNSTORABLE_TEXT.exec(s);
  if (!m) return undefined;
  return m[0] === '\u0000' ? `must not contain the NUL character (at position ${m.index})` : `must be valid Unicode text (a lone surrogate at position ${m.index})`;
}

/**
 * Every place in `value` Archive could not store exactly, as `field: reason` (paths like
 * `billing_data_json.receipt.billed_users[3].name`), at most `max` of them.
 */
export function unstorableFields(value: unknown, max = 20): FieldError[] {
  // Nearly every body is fine: a plain walk says so; the paths are followed only to name a finding.
  if (storable(value, 0)) return [];
  const out: FieldError[] = [];
  // The path as segments (a key, or an index), joined only for a finding: most bills have none.
  const path: (string | number)[] = [];
  const at = (upTo = path.length) => path.slice(0, upTo).reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');
  const report = (reason: string, field = at() || '(body)') => out.push({ field, reason });
  const walk = (v: unknown, depth: number): void => {
    if (out.length >= max) return;
    if (typeof v === 'string') {
      const p = textProblem(v);
      if (p) report(p);
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) report('must be a finite number');
      else if (Math.abs(v) > MAX_JSON_NUMBER) report(`must be at most ${MAX_JSON_NUMBER} in magnitude`);
    } else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_JSON_DEPTH) {
        report(`nests deeper than ${MAX_JSON_DEPTH} levels`);
        return;
      }
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length && out.length < max; i++) {
          path.push(i);
          walk(v[i], depth + 1);
          path.pop();
        }
        return;
      }
      for (const key of Object.keys(v)) {
        if (out.length >= max) return;
        const keyProblem = textProblem(key);
        if (keyProblem) {
          const parent = at();
          report(keyProblem, parent ? `${parent} (a key)` : '(a key)');
          continue;
        }
        path.push(key);
        if (RESERVED_KEYS.has(key)) report('is a reserved name and cannot be a key');
        else walk((v as Record<string, unknown>)[key], depth + 1);
        path.pop();
      }
    }
  };
  walk(value, 0);
  return out;
}

/** Whether unstorableFields finds nothing in `v`, `depth` levels down. */
function storable(v: unknown, depth: number): boolean {
  if (typeof v === 'string') return textProblem(v) === undefined;
  if (typeof v === 'number') return Number.isFinite(v) && Math.abs(v) <= MAX_JSON_NUMBER;
  if (v === null || typeof v !== 'object') return true;
  if (depth >= MAX_JSON_DEPTH) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!storable(v[i], depth + 1)) return false;
    return true;
  }
  for (const key of Object.keys(v)) {
    if (RESERVED_KEYS.has(key) || textProblem(key) !== undefined || !storable((v as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/**
 * A diagnostic text (an error message quoting a peer's answer, a name) made storable: NUL
 * becomes "\\0" and a lone surrogate U+FFFD. Never for a bill, which is refused instead.
 */
export function cleanText(s: string): string {
  return s.replace(/\u0000/g, '\\0').replace(LONE_SURROGATES, '\uFFFD');
}
