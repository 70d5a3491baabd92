/**
 * A billing period and the names derived from it, said once: `2026-03` for people and
 * parameters, `620547-202603` as Ledger numbers invoices, and the form of an account number.
 * Browser-safe.
 */

/** An account number as Codex and Ledger write it: 1 to 50 digits. */
export const ACCOUNT_NUMBER = /^\d{1,50}$/;

const mm = (month: number) => String(month).padStart(2, '0');

/** `2026-03`. */
export function periodText(year: number, month: number): string {
  return `${year}-${mm(month)}`;
}

/** Ledger's invoice number for a company and month: `<account>-<YYYY><MM>`. */
export function invoiceNumberFor(account: string, year: number, month: number): string {
  return `${account}-${year}${mm(month)}`;
}
