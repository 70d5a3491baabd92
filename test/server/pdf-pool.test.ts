/** PDFs rendered in the server's worker threads equal in-process ones, in parallel, and a render that fails says why without breaking the pool. */
import { afterAll, describe, expect, it } from 'vitest';
import { renderBillPdf, type BillForPdf } from '../../server/pdf/bill-pdf';
import { createPdfRenderer } from '../../server/pdf/pool';

const bill = (i: number): BillForPdf => ({
  company_account_number: '620547',
  company_name: `Acme ${i}`,
  invoice_number: `620547-2026${String((i % 12) + 1).padStart(2, '0')}`,
  billing_year: 2026,
  billing_month: (i % 12) + 1,
  invoice_date: '2026-10-31',
  due_date: '2026-11-30',
  billing_plan: '[PLAN-A]',
  contract_term: 'Month to Month',
  support_level: 'All Inclusive',
  total_amount: '125.00',
  total_user_charges: '125.00',
  total_asset_charges: '0.00',
  total_backup_charges: '0.00',
  total_ticket_charges: '0.00',
  total_line_item_charges: '0.00',
  content_hash: 'b'.repeat(64),
  archived_at: '2026-11-01T00:00:00.000Z',
  warnings: [],
  line_items: [{ line_type: 'user', item_name: 'Zoë', description: 'User: Zoë (Paid)', quantity: '1.00', rate: '125.00', amount: '125.00' }],
});

const pool = createPdfRenderer(2);
afterAll(() => pool.close());

describe("the server's PDF worker threads", () => {
  it('renders the same bytes as in process, many at a time', async () => {
    const [a, b] = await Promise.all([pool.render(bill(1)), renderBillPdf(bill(1))]);
    // Identical apart from the document ID and dates pdfkit stamps on each file.
    const strip = (x: Buffer) =>
      x
        .toString('latin1')
        .replace(/\/ID \[<[0-9a-f]+> <[0-9a-f]+>\]/, '')
        .replace(/\/CreationDate \(D:[^)]+\)/, '');
    expect(strip(a)).toBe(strip(b));
    const many = await Promise.all(Array.from({ length: 12 }, (_, i) => pool.render(bill(i))));
    for (const pdf of many) expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('fails a render that cannot be done, saying why, and keeps working', async () => {
    await expect(pool.render({ ...bill(1), line_items: null as never })).rejects.toThrow();
    expect((await pool.render(bill(2))).length).toBeGreaterThan(1000);
  });
});
