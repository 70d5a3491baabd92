/**
 * A bill's content hash: SHA-256 (hex) of its canonical form (shared/canonical.ts). Its own
 * module, with nothing else imported, so the worker threads of `archive verify` load only this.
 *
 * The archive stores a bill's billing data as its canonical JSON text, the very text its
 * content hash covers (`billing_data_json`, a `json` column, keeps text as given). So the hash
 * can be recomputed from the stored text as it is, without parsing and canonicalising it again:
 * the canonical form of the bill with `"billing_data":null`, that text put in place of the null.
 */
import { createHash } from 'node:crypto';
import type { BillFields, BillLine } from '../../shared/api';
import { canonicalJson, canonicalSnapshot } from '../../shared/canonical';

type Plain = Record<string, unknown>;

export function contentHashOf(row: BillFields, billingData: unknown, lineItems: BillLine[]): string {
  const text = canonicalSnapshot(row as unknown as Plain, billingData, lineItems as unknown as Plain[]);
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The billing data as stored: its canonical text. */
export const billingDataText = (billingData: unknown): string => canonicalJson(billingData);

// Unique in the canonical form: every other key is fixed, and in a string value a quote is escaped.
const PLACE = '"billing_data":null';

/**
 * The content hash from the bill's fields and lines and its billing data's canonical text:
 * what contentHashOf gives when `canonicalText` is canonicalJson of the billing data.
 */
export function contentHashOfText(row: BillFields, canonicalText: string, lineItems: BillLine[]): string {
  const rest = canonicalSnapshot(row as unknown as Plain, null, lineItems as unknown as Plain[]);
  const at = rest.indexOf(PLACE);
  if (at < 0) throw new Error('the canonical form has no billing_data member');
  const key = at + PLACE.length - 'null'.length;
  return createHash('sha256')
    .update(rest.slice(0, key), 'utf8')
    .update(canonicalText, 'utf8')
    .update(rest.slice(at + PLACE.length), 'utf8')
    .digest('hex');
}
