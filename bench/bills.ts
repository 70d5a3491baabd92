/**
 * Ledger-shaped bills for the benchmark: a real Ledger bill from the fixtures as the
 * template (its billing_data structure, float amounts and CRLF CSV), varied per company
 * and month, with 25 line items and about 15 KB of billing JSON.
 */
import fs from 'node:fs';
import path from 'node:path';
import { invoiceDates } from '../server/peers/ledger-bill';
import { invoiceNumberFor } from '../shared/period';

const FIXTURE = path.resolve(import.meta.dirname, '../test/fixtures/ledger/snapshot/731118-202601.json');
const template = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));

const CSV_HEADER = 'InvoiceNo,Customer,InvoiceDate,DueDate,Item(Product/Service),Description,Qty,Rate,Amount';
const ITEM_COLUMN: Record<string, string> = { user: 'Managed Services', asset: 'Managed Services', backup: 'Backup Services', ticket: 'Hourly Labor', custom: 'Custom Charge' };
const NAMES = ['Acme', 'Harbor', 'Summit', 'Northwind', 'Blue Ridge', 'Garden State', 'Quantum', 'Müller', 'Søndergaard', 'Évora'];
const KINDS = ['Dental Group', 'Legal Partners', 'Engineering', 'Logistics LLC', 'Clinic', 'Realty', 'Ventures', '& Söhne GmbH'];

export function benchAccount(i: number): string {
  return String(300000 + i);
}

/** One bill as Ledger would POST it; deterministic in its arguments. */
export function benchBill(companyIndex: number, year: number, month: number): Record<string, unknown> {
  const account = benchAccount(companyIndex);
  const name = `${NAMES[companyIndex % NAMES.length]} ${KINDS[Math.floor(companyIndex / NAMES.length) % KINDS.length]} ${companyIndex}`;
  const invoice = invoiceNumberFor(account, year, month);
  const { invoice_date: invoiceDate, due_date: dueDate } = invoiceDates(year, month);
  const scale = 1 + ((companyIndex * 7 + month) % 13) / 100;
  const lines: { line_type: string; item_name: string; description: string; quantity: number; rate: number; amount: number }[] = [];
  for (let u = 0; u < 14; u++) {
    const cost = 89.99 * scale;
    lines.push({ line_type: 'user', item_name: `User ${u} of ${account}`, description: `User: User ${u} of ${account} (Paid)`, quantity: 1, rate: cost, amount: cost });
  }
  for (let a = 0; a < 8; a++) {
    const cost = (a < 6 ? 29.99 : 149.99) * scale;
    const type = a < 6 ? 'Workstation' : 'Server';
    lines.push({ line_type: 'asset', item_name: `HOST-${account}-${a}`, description: `Asset: HOST-${account}-${a} (${type})`, quantity: 1, rate: cost, amount: cost });
  }
  const backup = 14.996999999963627 * scale;
  lines.push({ line_type: 'backup', item_name: 'Backup Services', description: 'Backup charges (base + 0.30 TB overage)', quantity: 1, rate: backup, amount: backup });
  const hours = ((companyIndex + month) % 9) / 3 + 0.25;
  lines.push({ line_type: 'ticket', item_name: 'Billable Hours', description: `Billable Hours (${hours.toFixed(2)} hrs)`, quantity: hours, rate: 135.0, amount: hours * 135.0 });
  lines.push({ line_type: 'custom', item_name: 'Microsoft 365 E3 licences', description: 'Microsoft 365 E3 licences (Recurring)', quantity: 1, rate: 431.2, amount: 431.2 });

  const sum = (t: string) => lines.filter((l) => l.line_type === t).reduce((s, l) => s + l.amount, 0);
  const total = lines.reduce((s, l) => s + l.amount, 0);
  const billingData = structuredClone(template.billing_data_json);
  billingData.client = { ...billingData.client, account_number: account, name };
  // Pad to about 15 KB the way bigger companies are bigger: more users in the payload.
  billingData.users = [...billingData.users, ...billingData.users, ...billingData.users.slice(0, 4)];
  billingData.receipt_data = { ...billingData.receipt_data, total };

  const csv =
    [
      CSV_HEADER,
      ...lines.map((l) =>
        [
          invoice,
          csvField(name),
          invoiceDate,
          dueDate,
          ITEM_COLUMN[l.line_type],
          csvField(l.description),
          l.line_type === 'ticket' ? l.quantity.toFixed(2) : '1',
          l.rate.toFixed(2),
          l.amount.toFixed(2),
        ].join(','),
      ),
    ].join('\r\n') + '\r\n';
  return {
    company_account_number: account,
    company_name: name,
    invoice_number: invoice,
    billing_year: year,
    billing_month: month,
    invoice_date: invoiceDate,
    due_date: dueDate,
    billing_plan: 'Essentials',
    contract_term: 'Month to Month',
    support_level: 'Remote Only',
    total_amount: total,
    total_user_charges: sum('user'),
    total_asset_charges: sum('asset'),
    total_backup_charges: sum('backup'),
    total_ticket_charges: sum('ticket'),
    total_line_item_charges: sum('custom'),
    user_count: 14,
    asset_count: 8,
    billable_hours: hours,
    billing_data_json: billingData,
    invoice_csv: csv,
    line_items: lines,
    created_by: 'bench@archive.example',
    notes: `Benchmark ${year}-${month}`,
  };
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
