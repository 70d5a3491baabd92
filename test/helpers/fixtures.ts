/** The real Ledger's output in test/fixtures/ledger (its README says how it was made): bills to test against. */
import fs from 'node:fs';
import path from 'node:path';

export const FIXTURES = path.resolve(__dirname, '../fixtures/ledger');

export interface FixtureBill {
  key: string; // e.g. 620547-202601
  rawBody: string; // the POST body exactly as Ledger sent it
  body: Record<string, any>;
  csv: string | undefined;
}

export function fixtureBills(): FixtureBill[] {
  const dir = path.join(FIXTURES, 'snapshot');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const key = f.replace(/\.json$/, '');
      const rawBody = fs.readFileSync(path.join(dir, f), 'utf8');
      const csvFile = path.join(FIXTURES, 'csv', `${key}.csv`);
      return { key, rawBody, body: JSON.parse(rawBody), csv: fs.existsSync(csvFile) ? fs.readFileSync(csvFile, 'utf8') : undefined };
    });
}

export function fixtureIndex(): { account_number: string; year: number; month: number; csv_content_disposition?: string }[] {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, 'index.json'), 'utf8'));
}

/** A small valid bill of our own, for rules the fixtures do not exercise. */
export function makeBill(overrides: Record<string, unknown> = {}): Record<string, any> {
  const account = (overrides.company_account_number as string) ?? '900001';
  const year = (overrides.billing_year as number) ?? 2026;
  const month = (overrides.billing_month as number) ?? 3;
  const mm = String(month).padStart(2, '0');
  const lines = (overrides.line_items as any[]) ?? [
    { line_type: 'user', item_name: 'Ada', description: 'User: Ada (Paid)', quantity: 1, rate: 0.1, amount: 0.1 },
    { line_type: 'user', item_name: 'Bob', description: 'User: Bob (Paid)', quantity: 1, rate: 0.2, amount: 0.2 },
  ];
  const total = (overrides.total_amount as number) ?? lines.reduce((s, l) => s + l.amount, 0);
  const invoice = (overrides.invoice_number as string) ?? `${account}-${year}${mm}`;
  const csvLines = lines.map((l) => [invoice, 'Test Co', `${year}-${mm}-28`, '', 'Managed Services', l.description, l.quantity, Number(l.rate).toFixed(2), Number(l.amount).toFixed(2)].join(','));
  return {
    company_account_number: account,
    company_name: 'Test Co',
    invoice_number: `${account}-${year}${mm}`,
    billing_year: year,
    billing_month: month,
    invoice_date: `${year}-${mm}-28`,
    due_date: null,
    billing_plan: 'Plan',
    total_amount: total,
    total_user_charges: total,
    billing_data_json: { receipt: { total } },
    invoice_csv: ['InvoiceNo,Customer,InvoiceDate,DueDate,Item(Product/Service),Description,Qty,Rate,Amount', ...csvLines].join('\r\n') + '\r\n',
    line_items: lines,
    ...overrides,
  };
}
