/**
 * A bill's content hash: SHA-256 (hex) of its canonical form (shared/canonical.ts). Its own
 * module, with nothing else imported, so the worker threads of `archive verify` load only this.
 */
import { createHash } from 'node:crypto';
import type { BillFields, BillLine } from '../../shared/api';
import { canonicalSnapshot } from '../../shared/canonical';

export function contentHashOf(row: BillFields, billingData: unknown, lineItems: BillLine[]): string {
  const text = canonicalSnapshot(row as unknown as Record<string, unknown>, billingData, lineItems as unknown as Record<string, unknown>[]);
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
