/**
 * A correction's CSV says what it is: after Ledger's rows, one zero-amount row in the same
 * columns whose description reads "Revision 2: correction of revision 1 because ...". An
 * accounting import takes it as a note line that changes no total; the stored CSV (in the
 * bill's JSON and its evidence bundle) is untouched.
 */
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { BillCsv } from './read';

/** The known columns of Ledger's invoice CSV (docs/contract.md), lower-cased. */
const COLUMN = {
  invoice: 'invoiceno',
  customer: 'customer',
  date: 'invoicedate',
  due: 'duedate',
  item: 'item(product/service)',
  description: 'description',
  qty: 'qty',
  rate: 'rate',
  amount: 'amount',
};

export function withCorrectionNote(s: Pick<BillCsv, 'invoice_csv' | 'invoice_number' | 'company_name' | 'invoice_date' | 'due_date' | 'revision' | 'correction_reason'>): string {
  if (s.revision === 1 || !s.correction_reason) return s.invoice_csv;
  let header: string[] = [];
  try {
    header = ((parse(s.invoice_csv, { to_line: 1, relax_column_count: true }) as string[][])[0] ?? []).map((h) => h.trim().toLowerCase());
  } catch {
    /* an unreadable CSV still gets its note, in a row of its own */
  }
  const note = `Revision ${s.revision}: correction of revision ${s.revision - 1} because ${s.correction_reason.replace(/\s+/g, ' ')}`;
  const value: Record<string, string> = {
    [COLUMN.invoice]: s.invoice_number,
    [COLUMN.customer]: s.company_name ?? '',
    [COLUMN.date]: s.invoice_date,
    [COLUMN.due]: s.due_date ?? '',
    [COLUMN.item]: 'Correction note',
    [COLUMN.description]: note,
    [COLUMN.qty]: '0',
    [COLUMN.rate]: '0.00',
    [COLUMN.amount]: '0.00',
  };
  const row = header.includes(COLUMN.description) ? header.map((h) => value[h] ?? '') : [note];
  const eol = s.invoice_csv.includes('\r\n') ? '\r\n' : '\n';
  const csv = s.invoice_csv.endsWith('\n') ? s.invoice_csv : s.invoice_csv + eol;
  return csv + stringify([row], { record_delimiter: eol === '\r\n' ? 'windows' : 'unix' });
}
