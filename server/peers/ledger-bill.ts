/**
 * Building the bill Ledger would post from Ledger's billing answer
 * (`GET /api/billing/<account>?year&month`), for our own snapshot runs. Follows docs/contract.md
 * sections 1 and 4 and is pinned by tests to the real pairs in the fixtures: the result
 * equals Ledger's own POST body in every field the answer determines (totals, counts, line
 * items, CSV). Numbers stay Ledger's floats here; the money rule applies when it is archived.
 */
import { stringify } from 'csv-stringify/sync';
import { roundLedger } from '../../shared/money';
import { invoiceNumberFor, periodText } from '../../shared/period';

export interface BilledItem {
  name: string;
  type: string;
  cost: number;
}

export interface BillingReceipt {
  billed_users: BilledItem[];
  billed_assets: BilledItem[];
  billed_line_items: BilledItem[];
  total_user_charges: number;
  total_asset_charges: number;
  total_line_item_charges: number;
  ticket_charge: number;
  backup_charge: number;
  total: number;
  billable_hours: number;
  overage_tb: number;
  overage_charge: number;
  [key: string]: unknown;
}

export interface BillingAnswer {
  account_number: string;
  company_name: string;
  billing_period: string; // YYYY-MM
  receipt: BillingReceipt;
  [key: string]: unknown;
}

/**
 * Ledger's billing answer read from its text, with the shape checks a bill must pass before we
 * build a snapshot from it; a string says what is wrong.
 */
export function readBillingAnswer(text: string, account: string, year: number, month: number): BillingAnswer | string {
  let a: BillingAnswer;
  try {
    a = JSON.parse(text) as BillingAnswer;
  } catch {
    return `Ledger answered 200 with something that is not JSON (${text.slice(0, 120)})`;
  }
  if (!a || typeof a !== 'object') return 'the answer is not a JSON object';
  if (a.account_number !== account) return `the answer is for account ${String(a.account_number)}, not ${account}`;
  const period = periodText(year, month);
  if (a.billing_period !== period) return `the answer is for ${String(a.billing_period)}, not ${period}`;
  const r = a.receipt;
  if (!r || typeof r !== 'object') return 'the answer has no receipt';
  for (const k of ['billed_users', 'billed_assets', 'billed_line_items'] as const) if (!Array.isArray(r[k])) return `receipt.${k} is missing`;
  for (const k of ['total', 'total_user_charges', 'total_asset_charges', 'total_line_item_charges', 'ticket_charge', 'backup_charge', 'billable_hours'] as const) {
    if (typeof r[k] !== 'number' || !Number.isFinite(r[k])) return `receipt.${k} is not a number`;
  }
  return a;
}

/** What Codex knows of the company that the billing answer does not carry. */
export interface CompanyFacts {
  billing_plan?: string | null;
  contract_term_length?: string | null;
  support_level?: string | null;
}

export interface LedgerLineItem {
  line_type: 'user' | 'asset' | 'backup' | 'ticket' | 'custom';
  item_name: string;
  description: string;
  quantity: number;
  rate: number;
  amount: number;
}

const CSV_HEADER = ['InvoiceNo', 'Customer', 'InvoiceDate', 'DueDate', 'Item(Product/Service)', 'Description', 'Qty', 'Rate', 'Amount'];
const CSV_ITEM: Record<LedgerLineItem['line_type'], string> = {
  user: 'Managed Services',
  asset: 'Managed Services',
  backup: 'Backup Services',
  ticket: 'Hourly Labor',
  custom: 'Custom Charge',
};

/** The last day of the month and 30 days after it, as Ledger dates its invoices. */
export function invoiceDates(year: number, month: number): { invoice_date: string; due_date: string } {
  const last = Date.UTC(year, month, 0);
  return { invoice_date: isoDay(last), due_date: isoDay(last + 30 * 86_400_000) };
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Ledger's receipt as line items: zero-cost users and assets left out, hours whenever billed. */
export function lineItemsFromReceipt(r: BillingReceipt): LedgerLineItem[] {
  const items: LedgerLineItem[] = [];
  for (const u of r.billed_users) {
    if (u.cost > 0) items.push({ line_type: 'user', item_name: u.name, description: `User: ${u.name} (${u.type})`, quantity: 1.0, rate: u.cost, amount: u.cost });
  }
  for (const a of r.billed_assets) {
    if (a.cost > 0) items.push({ line_type: 'asset', item_name: a.name, description: `Asset: ${a.name} (${a.type})`, quantity: 1.0, rate: a.cost, amount: a.cost });
  }
  if (r.backup_charge > 0) {
    items.push({
      line_type: 'backup',
      item_name: 'Backup Services',
      description: `Backup charges (base + ${roundLedger(r.overage_tb)} TB overage)`,
      quantity: 1.0,
      rate: r.backup_charge,
      amount: r.backup_charge,
    });
  }
  if (r.billable_hours > 0) {
    const rate = r.ticket_charge > 0 ? r.ticket_charge / r.billable_hours : 0.0;
    items.push({ line_type: 'ticket', item_name: 'Billable Hours', description: `Billable Hours (${roundLedger(r.billable_hours)} hrs)`, quantity: r.billable_hours, rate, amount: r.ticket_charge });
  }
  for (const c of r.billed_line_items) {
    items.push({ line_type: 'custom', item_name: c.name, description: `${c.name} (${c.type})`, quantity: 1.0, rate: c.cost, amount: c.cost });
  }
  return items;
}

/** The invoice CSV as Ledger writes it: CRLF, Python's csv quoting, money with `:.2f`. */
export function invoiceCsv(invoice: string, company: string, dates: { invoice_date: string; due_date: string }, items: LedgerLineItem[], r: BillingReceipt): string {
  const rows = items.map((li) => {
    const description = li.line_type === 'backup' ? `Backup Services - Overage: ${roundLedger(r.overage_tb)} TB @ $${roundLedger(r.overage_charge)}` : li.description;
    const qty = li.line_type === 'ticket' ? roundLedger(li.quantity) : '1';
    return [invoice, company, dates.invoice_date, dates.due_date, CSV_ITEM[li.line_type], description, qty, roundLedger(li.rate), roundLedger(li.amount)];
  });
  return stringify([CSV_HEADER, ...rows], { record_delimiter: '\r\n', quoted_match: /\r|\n/ });
}

function effectiveSupportLevel(answer: BillingAnswer): string | null {
  const rates = answer.effective_rates as { support_level?: unknown } | undefined;
  return typeof rates?.support_level === 'string' ? rates.support_level : null;
}

/** The body Ledger would POST to /api/snapshot for this billing answer. */
export function buildSnapshotFromBilling(answer: BillingAnswer, company: CompanyFacts = {}, extra: { created_by?: string; notes?: string } = {}): Record<string, unknown> {
  const [year, month] = answer.billing_period.split('-').map(Number);
  const r = answer.receipt;
  const invoice = invoiceNumberFor(answer.account_number, year, month);
  const dates = invoiceDates(year, month);
  const items = lineItemsFromReceipt(r);
  return {
    company_account_number: answer.account_number,
    company_name: answer.company_name,
    invoice_number: invoice,
    billing_year: year,
    billing_month: month,
    invoice_date: dates.invoice_date,
    due_date: dates.due_date,
    billing_plan: company.billing_plan ?? '',
    // Ledger's defaults when Codex has no term; the support level is the plan's effective one.
    contract_term: company.contract_term_length ?? 'Month to Month',
    support_level: company.support_level ?? effectiveSupportLevel(answer),
    total_amount: r.total,
    total_user_charges: r.total_user_charges,
    total_asset_charges: r.total_asset_charges,
    total_backup_charges: r.backup_charge,
    total_ticket_charges: r.ticket_charge,
    total_line_item_charges: r.total_line_item_charges,
    user_count: r.billed_users.filter((u) => u.cost > 0).length,
    asset_count: r.billed_assets.filter((a) => a.cost > 0).length,
    billable_hours: r.billable_hours,
    billing_data_json: answer,
    invoice_csv: invoiceCsv(invoice, answer.company_name, dates, items, r),
    line_items: items,
    created_by: extra.created_by ?? 'archive-scheduler',
    notes: extra.notes ?? null,
  };
}
