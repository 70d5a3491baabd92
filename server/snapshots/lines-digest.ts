/**
 * The digest of a bill's lines, in JavaScript (Ledger's bill now) and in SQL (the archived
 * one): the two must agree, so they stand together. A run compares a fresh bill with the
 * archived one through it without reading the archived lines back.
 */
import { createHash } from 'node:crypto';
import type { PreparedSnapshot } from './archive';

const LINE_SEP = '\u001f';
export const lineKey = (l: Record<string, unknown>) => [l.line_type, l.item_name, l.quantity, l.rate, l.amount].join(LINE_SEP);

export function linesDigest(lines: PreparedSnapshot['lineItems']): string {
  return createHash('md5')
    .update(lines.map((l) => lineKey(l as unknown as Record<string, unknown>)).join('\n'), 'utf8')
    .digest('hex');
}

export const LINES_DIGEST_SQL = `md5(coalesce(string_agg(concat_ws(E'${LINE_SEP}', line_type, item_name, quantity::text, rate::text, amount::text), E'\\n' ORDER BY position), ''))`;

/** A line key as a person reads it: `user Zoë: 1.00 x 125.00 = 125.00`. */
export function describeLine(k: string): string {
  const [type, name, qty, rate, amount] = k.split(LINE_SEP);
  return `${type} ${name}: ${qty} x ${rate} = ${amount}`;
}
