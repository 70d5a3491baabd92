/**
 * The canonical form of a snapshot, the input of its `content_hash` (SHA-256, hex).
 *
 * Version 1: the JSON Canonicalization Scheme (RFC 8785: sorted keys, no white space,
 * ECMAScript number form) of
 *   {"v":1,"snapshot":{...the fields below...},"line_items":[...in posted order...]}
 * with money, hours and quantities as decimal strings after the money rule, dates as
 * YYYY-MM-DD, absent optional fields as null, `billing_data` as posted, and the invoice
 * CSV as its exact text. Server-side facts (id, archived_at, warnings, the raw body) are
 * not part of it, so anyone can recompute the hash from what `GET /api/snapshot` returns.
 */
import canonicalize from 'canonicalize';
import type { BillFields, BillLine } from './api';

export const CANONICAL_VERSION = 1;

export const CANONICAL_SNAPSHOT_FIELDS = [
  'company_account_number',
  'company_name',
  'invoice_number',
  'billing_year',
  'billing_month',
  'invoice_date',
  'due_date',
  'billing_plan',
  'contract_term',
  'support_level',
  'total_amount',
  'total_user_charges',
  'total_asset_charges',
  'total_backup_charges',
  'total_ticket_charges',
  'total_line_item_charges',
  'user_count',
  'asset_count',
  'billable_hours',
  'created_by',
  'notes',
  'invoice_csv',
] as const;

export const CANONICAL_LINE_FIELDS = ['line_type', 'item_name', 'description', 'quantity', 'rate', 'amount'] as const;

// What is hashed is exactly a bill's own fields and lines (BillFields and BillLine in api.ts): a
// field added to one and not to the other fails to compile.
type Same<A, B> = [Exclude<A, B>, Exclude<B, A>] extends [never, never] ? true : never;
export const CANONICAL_FIELDS_MATCH: Same<(typeof CANONICAL_SNAPSHOT_FIELDS)[number], keyof BillFields> = true;
export const CANONICAL_LINES_MATCH: Same<(typeof CANONICAL_LINE_FIELDS)[number], keyof BillLine> = true;

type Plain = Record<string, unknown>;

const INDEX_KEY = /^(0|[1-9]\d{0,9})$/;

/** A key JSON.stringify would not write where JCS puts it, or that a copy could not hold. */
const awkward = (k: string) => k === 'toJSON' || k === '__proto__' || (INDEX_KEY.test(k) && Number(k) < 4294967295);

/** Thrown inside `ordered` when a value must take the `canonicalize` package's own path. */
const FALLBACK = Symbol('canonicalize');

// The sorted order of each set of keys seen (in the order they came): a bill's users, assets
// and lines repeat a few shapes thousands of times. Bounded, since values come from outside.
const orders = new Map<string, string[]>();

/**
 * `v` with every object's keys in JCS order: the value itself where it already is, copies
 * only of what is not. `undefined` members are kept (JSON.stringify leaves them out, as JCS).
 */
function ordered(v: unknown): unknown {
  if (v === null || typeof v !== 'object') {
    // canonicalize refuses what JSON cannot say (Infinity from a parsed 1e400): let it.
    if (typeof v === 'number' && !Number.isFinite(v)) throw FALLBACK;
    return v;
  }
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const e = v[i];
      const o = ordered(e);
      if (o !== e) (out ??= v.slice())[i] = o;
    }
    return out ?? v;
  }
  const obj = v as Plain;
  const keys = Object.keys(obj);
  let inOrder = true;
  for (let i = 0; i < keys.length; i++) {
    if (awkward(keys[i])) throw FALLBACK;
    if (i > 0 && keys[i - 1] > keys[i]) inOrder = false;
  }
  if (inOrder) {
    let out: Plain | undefined;
    for (const k of keys) {
      const e = obj[k];
      const o = ordered(e);
      if (o !== e) (out ??= { ...obj })[k] = o;
    }
    return out ?? v;
  }
  const signature = keys.join('\u0000');
  let sorted = orders.get(signature);
  if (!sorted) {
    sorted = [...keys].sort();
    if (orders.size < 4096) orders.set(signature, sorted);
  }
  const out: Plain = {};
  for (const k of sorted) out[k] = ordered(obj[k]);
  return out;
}

/**
 * RFC 8785 (JCS) text of a JSON value: exactly what the `canonicalize` package returns, about
 * four times faster. JSON.stringify writes numbers and strings as JCS does, and members in
 * their insertion order: so the value is first copied with its keys sorted (by UTF-16 code
 * units; only the objects out of order are copied) and then written by JSON.stringify's own
 * fast path. Objects JSON.stringify would not write in that order (keys that are array
 * indexes, which JavaScript keeps first in numeric order), that a copy could not hold (a
 * `__proto__` key) or that `canonicalize` treats apart (a `toJSON` key, a non-finite number)
 * take the package's own path. test/server/canonical.test.ts holds the two equal.
 */
export function canonicalJson(value: unknown): string {
  let copy: unknown;
  try {
    copy = ordered(value);
  } catch (err) {
    if (err === FALLBACK) return canonicalize(value) as string;
    throw err;
  }
  return JSON.stringify(copy);
}

// The members in JCS order from the start, so canonicalJson need copy none of them.
const SORTED_SNAPSHOT_FIELDS = [...CANONICAL_SNAPSHOT_FIELDS, 'billing_data'].sort();
const SORTED_LINE_FIELDS = [...CANONICAL_LINE_FIELDS].sort();

export function canonicalSnapshot(snapshot: Plain, billingData: unknown, lineItems: Plain[]): string {
  const fields: Plain = {};
  for (const f of SORTED_SNAPSHOT_FIELDS) fields[f] = f === 'billing_data' ? billingData : (snapshot[f] ?? null);
  const lines = lineItems.map((li) => {
    const out: Plain = {};
    for (const f of SORTED_LINE_FIELDS) out[f] = li[f] ?? null;
    return out;
  });
  const text = canonicalJson({ line_items: lines, snapshot: fields, v: CANONICAL_VERSION });
  if (text === undefined) throw new Error('snapshot cannot be canonicalised');
  return text;
}
