/**
 * The boundary between Ledger's floats and our exact decimals: turns a validated post into
 * the row we store, applying the money rule to every amount, and checks that the bill adds
 * up (a rounding cent is a warning on the snapshot; more than the tolerance is refused).
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { CATEGORY_TOTAL_FIELDS, MONEY_LIMIT, QUANTITY_LIMIT, type BillFields, type BillLine, type LineType, type SnapshotPost, type SnapshotWarning } from '../../shared/api';
import type { FieldError } from '../../shared/errors';
import { absGreaterThan, isDecimalText, roundLedger, subtractMoney, sumMoney } from '../../shared/money';
import { ArchiveError, validationError } from '../errors';

export interface NormalisedSnapshot {
  row: BillFields;
  billingData: Record<string, unknown>;
  lineItems: BillLine[];
  warnings: SnapshotWarning[];
}

const money = (v: number | string | null | undefined): string | null => (v === null || v === undefined ? null : roundLedger(v));

export function normaliseSnapshot(post: SnapshotPost): NormalisedSnapshot {
  const row: BillFields = {
    company_account_number: post.company_account_number,
    company_name: post.company_name ?? null,
    invoice_number: post.invoice_number,
    billing_year: post.billing_year,
    billing_month: post.billing_month,
    invoice_date: post.invoice_date,
    due_date: post.due_date ?? null,
    billing_plan: post.billing_plan ?? null,
    contract_term: post.contract_term ?? null,
    support_level: post.support_level ?? null,
    total_amount: roundLedger(post.total_amount),
    total_user_charges: money(post.total_user_charges),
    total_asset_charges: money(post.total_asset_charges),
    total_backup_charges: money(post.total_backup_charges),
    total_ticket_charges: money(post.total_ticket_charges),
    total_line_item_charges: money(post.total_line_item_charges),
    user_count: post.user_count ?? null,
    asset_count: post.asset_count ?? null,
    billable_hours: money(post.billable_hours),
    created_by: post.created_by ?? null,
    notes: post.notes ?? null,
    invoice_csv: post.invoice_csv,
  };
  const lineItems: BillLine[] = post.line_items.map((li) => ({
    line_type: li.line_type,
    item_name: li.item_name,
    description: li.description ?? null,
    quantity: roundLedger(li.quantity),
    rate: roundLedger(li.rate),
    amount: roundLedger(li.amount),
  }));
  checkColumnRanges(row, lineItems);
  return { row, billingData: post.billing_data_json, lineItems, warnings: [] };
}

const MONEY_MAX = MONEY_LIMIT.toFixed(2);
const QUANTITY_MAX = QUANTITY_LIMIT.toFixed(2);

/** Rounding can carry a value past its column (9999999999.995 -> 10000000000.00): checked exactly, after the money rule. */
function checkColumnRanges(row: BillFields, lines: BillLine[]): void {
  const fields: FieldError[] = [];
  const check = (field: string, value: string | null, max: string) => {
    if (value !== null && absGreaterThan(value, max)) fields.push({ field, reason: `must be at most ${max} in magnitude once rounded to the cent (is ${value})` });
  };
  check('total_amount', row.total_amount, MONEY_MAX);
  for (const f of CATEGORY_TOTAL_FIELDS) check(f, row[f], MONEY_MAX);
  check('billable_hours', row.billable_hours, QUANTITY_MAX);
  lines.forEach((l, i) => {
    check(`line_items[${i}].quantity`, l.quantity, QUANTITY_MAX);
    check(`line_items[${i}].rate`, l.rate, MONEY_MAX);
    check(`line_items[${i}].amount`, l.amount, MONEY_MAX);
  });
  if (fields.length > 0) throw validationError(fields, 'snapshot');
}

/** Which line type each category total adds up. */
export const CATEGORY_OF_LINE_TYPE: Record<LineType, (typeof CATEGORY_TOTAL_FIELDS)[number]> = {
  user: 'total_user_charges',
  asset: 'total_asset_charges',
  backup: 'total_backup_charges',
  ticket: 'total_ticket_charges',
  custom: 'total_line_item_charges',
};

export interface TotalsCheck {
  expected: string;
  actual: string;
  difference: string;
}

/**
 * Compares the total with the sum of the line items, the sum of the category totals Ledger
 * sent, and the Amount column of the invoice CSV. Within `tolerance` a difference becomes a
 * warning; beyond it the bill is refused with 422 naming the sums.
 */
export function checkTotals(n: NormalisedSnapshot, tolerance: string): SnapshotWarning[] {
  const warnings: SnapshotWarning[] = [];
  const total = n.row.total_amount;
  const refuse = (field: string, what: string, c: TotalsCheck) => {
    throw new ArchiveError('totals_mismatch', `${what} (${c.actual}) differs from total_amount (${c.expected}) by ${c.difference}, more than the tolerance of ${tolerance}`, {
      field,
      ...c,
      tolerance,
    });
  };

  const linesSum = sumMoney(n.lineItems.map((l) => l.amount));
  const linesCheck = { expected: total, actual: linesSum, difference: subtractMoney(linesSum, total) };
  if (absGreaterThan(linesCheck.difference, tolerance)) refuse('line_items', 'The sum of the line items', linesCheck);
  if (linesCheck.difference !== '0.00') {
    warnings.push({ code: 'line_items_total_mismatch', message: `Line items add up to ${linesSum}, the total is ${total} (rounding difference ${linesCheck.difference})`, ...linesCheck });
  }

  // Each category total against its own line items: a bill whose users add up to one sum and
  // whose total_user_charges says another is refused, even when the grand totals agree.
  for (const [type, field] of Object.entries(CATEGORY_OF_LINE_TYPE)) {
    const stated = n.row[field];
    if (stated === null) continue;
    const sum = sumMoney(n.lineItems.filter((l) => l.line_type === type).map((l) => l.amount));
    const difference = subtractMoney(sum, stated);
    if (absGreaterThan(difference, tolerance)) {
      throw new ArchiveError('totals_mismatch', `The ${type} line items add up to ${sum}, but ${field} is ${stated}: a difference of ${difference}, more than the tolerance of ${tolerance}`, {
        field,
        category: type,
        expected: stated,
        actual: sum,
        difference,
        tolerance,
      });
    }
  }

  const categories = CATEGORY_TOTAL_FIELDS.map((f) => n.row[f]).filter((v): v is string => v !== null);
  if (categories.length > 0) {
    const catSum = sumMoney(categories);
    const catCheck = { expected: total, actual: catSum, difference: subtractMoney(catSum, total) };
    if (absGreaterThan(catCheck.difference, tolerance)) refuse('total_*_charges', 'The sum of the category totals', catCheck);
    if (catCheck.difference !== '0.00') {
      warnings.push({ code: 'category_totals_mismatch', message: `Category totals add up to ${catSum}, the total is ${total} (rounding difference ${catCheck.difference})`, ...catCheck });
    }
  }

  const csv = csvAmountSum(n.row.invoice_csv);
  if (csv === undefined) {
    warnings.push({ code: 'csv_unreadable', message: 'The invoice CSV has no Amount column that could be read; it is stored as sent' });
  } else {
    const csvCheck = { expected: total, actual: csv, difference: subtractMoney(csv, total) };
    if (csvCheck.difference !== '0.00') {
      // The CSV is Ledger's document, kept byte for byte: a difference is recorded, never refused.
      warnings.push({ code: 'csv_total_mismatch', message: `The invoice CSV adds up to ${csv}, the total is ${total} (difference ${csvCheck.difference})`, ...csvCheck });
    }
  }
  return warnings;
}

/** The sum of the invoice CSV's Amount column, or undefined when it cannot be read. */
export function csvAmountSum(csv: string): string | undefined {
  if (csv.trim() === '') return undefined;
  // Ledger's CSV quotes nothing unless a field needs it: without a quote character the
  // Amount is simply the text after the last comma of each line, as csv-parse would find.
  if (!csv.includes('"')) return simpleCsvAmountSum(csv);
  try {
    const records = parseCsv(csv, { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[];
    const amounts: string[] = [];
    for (const r of records) {
      const a = r.Amount;
      if (a === undefined || !isDecimalText(a.trim())) return undefined;
      amounts.push(a.trim());
    }
    return sumMoney(amounts);
  } catch {
    return undefined;
  }
}

function simpleCsvAmountSum(csv: string): string | undefined {
  const lines = csv.split(/\r?\n/).filter((l) => l !== '');
  const header = lines[0].replace(/^\uFEFF/, '').split(',');
  const column = header.indexOf('Amount');
  if (column === -1) return undefined;
  const amounts: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const fields = lines[i].split(',');
    if (fields.length !== header.length) return undefined;
    const a = fields[column].trim();
    if (!isDecimalText(a)) return undefined;
    amounts.push(a);
  }
  return sumMoney(amounts);
}
