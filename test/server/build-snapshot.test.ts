/** A bill built from Ledger's billing answer equals the bill Ledger itself posted. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSnapshotFromBilling, invoiceCsv, invoiceDates, type BillingAnswer } from '../../server/peers/ledger-bill';
import { prepareSnapshot } from '../../server/snapshots/archive';
import { SnapshotPost } from '../../shared/api';
import { FIXTURES, fixtureBills } from '../helpers/fixtures';

const pairs = fixtureBills().map((bill) => {
  const answer = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'billing', `${bill.key}.json`), 'utf8')) as BillingAnswer;
  return [bill.key, bill, answer] as const;
});

describe("building a bill from Ledger's billing answer", () => {
  it('has every real pair', () => {
    expect(pairs.length).toBeGreaterThanOrEqual(24);
  });

  it.each(pairs)('%s equals what Ledger posted in every field the answer determines', (_key, bill, answer) => {
    const built = buildSnapshotFromBilling(answer, {
      billing_plan: bill.body.billing_plan,
      contract_term_length: bill.body.contract_term,
      support_level: bill.body.support_level,
    });
    for (const f of [
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
    ]) {
      expect(built[f], f).toEqual(bill.body[f]);
    }
    expect(built.line_items).toEqual(bill.body.line_items);
    expect(built.invoice_csv).toBe(bill.body.invoice_csv);
    // And once archived, it has the same money, lines and CSV as the posted bill.
    const a = prepareSnapshot(SnapshotPost.parse(built), '0.05');
    const b = prepareSnapshot(SnapshotPost.parse(bill.body), '0.05');
    expect(a.lineItems).toEqual(b.lineItems);
    expect(a.warnings).toEqual(b.warnings);
  });

  it('quotes CSV fields as Python does', () => {
    const dates = invoiceDates(2026, 2);
    expect(dates).toEqual({ invoice_date: '2026-02-28', due_date: '2026-03-30' });
    const csv = invoiceCsv('1-202602', 'Smith, Jones & "Partners"', dates, [{ line_type: 'custom', item_name: 'X', description: 'X (One-Off)', quantity: 1, rate: 1.005, amount: 1.005 }], {} as never);
    expect(csv).toBe(
      'InvoiceNo,Customer,InvoiceDate,DueDate,Item(Product/Service),Description,Qty,Rate,Amount\r\n1-202602,"Smith, Jones & ""Partners""",2026-02-28,2026-03-30,Custom Charge,X (One-Off),1,1.00,1.00\r\n',
    );
  });
});
