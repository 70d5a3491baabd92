/**
 * The bill PDF: its text (read back with pdftotext), repeated table headers and page numbers
 * on a 300-line bill, non-ASCII names, and the server's `GET /api/snapshot/:invoice/pdf`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatMoney, renderBillPdf, type BillForPdf } from '../../server/pdf/bill-pdf';
import { fixtureBills } from '../helpers/fixtures';
import { startTestServer, type TestServer } from '../helpers/server';

const hasPdftotext = spawnSync('pdftotext', ['-v']).status === 0;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-pdf-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function pdfText(pdf: Buffer, layout = true): string {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.pdf`);
  fs.writeFileSync(file, pdf);
  return execFileSync('pdftotext', [...(layout ? ['-layout'] : []), file, '-'], { encoding: 'utf8' });
}
function pageCount(pdf: Buffer): number {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.pdf`);
  fs.writeFileSync(file, pdf);
  return Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [file], { encoding: 'utf8' }))![1]);
}

function bill(lines: number, name = 'Müller & Söhne GmbH'): BillForPdf {
  const items = Array.from({ length: lines }, (_, i) => ({
    line_type: (['user', 'asset', 'custom'] as const)[i % 3],
    item_name: i % 3 === 0 ? `Zoë Ångström ${i}` : `HOST-${i}`,
    description: i % 3 === 0 ? `User: Zoë Ångström ${i} (Paid)` : `Asset: HOST-${i} (Workstation)`,
    quantity: '1.00',
    rate: '10.00',
    amount: '10.00',
  }));
  return {
    company_account_number: '731118',
    company_name: name,
    invoice_number: '731118-202610',
    billing_year: 2026,
    billing_month: 10,
    invoice_date: '2026-10-31',
    due_date: '2026-11-30',
    billing_plan: 'Essentials',
    contract_term: 'Month to Month',
    support_level: 'Remote Only',
    total_amount: (lines * 10).toFixed(2),
    total_user_charges: null,
    total_asset_charges: null,
    total_backup_charges: null,
    total_ticket_charges: null,
    total_line_item_charges: null,
    content_hash: 'a'.repeat(64),
    archived_at: '2026-11-01T02:00:05.000Z',
    warnings: [],
    line_items: items,
  };
}

describe('money in the PDF', () => {
  it('is printed from the decimal text with thousands separators', () => {
    expect(formatMoney('1234567.50')).toBe('1,234,567.50');
    expect(formatMoney('0.10')).toBe('0.10');
    expect(formatMoney('-12.30')).toBe('−12.30');
    expect(formatMoney('100')).toBe('100.00');
  });
});

describe.skipIf(!hasPdftotext)('the bill PDF', () => {
  it('holds the header, every line, subtotals, the total and the footer, with non-ASCII names', async () => {
    const b = bill(6);
    const text = pdfText(await renderBillPdf(b));
    for (const s of [
      'Invoice',
      'Müller & Söhne GmbH',
      'Account 731118',
      '731118-202610',
      'October 2026',
      '2026-11-30',
      'Essentials',
      'Month to Month',
      'Remote Only',
      'Zoë Ångström 0',
      'HOST-1',
      'Subtotal users',
      'Total',
      '60.00',
      'Page 1 of 1',
      `sha256:${'a'.repeat(64)}`,
      'Archived 2026-11-01 02:00 UTC',
    ]) {
      expect(text, s).toContain(s);
    }
  });

  it('a 300-line bill spans pages, each with the table header and its page number', async () => {
    const pdf = await renderBillPdf(bill(300));
    const pages = pageCount(pdf);
    expect(pages).toBeGreaterThanOrEqual(6);
    const text = pdfText(pdf);
    const perPage = text.split('\f').filter((p) => p.trim());
    expect(perPage).toHaveLength(pages);
    perPage.forEach((p, i) => {
      expect(p, `page ${i + 1}`).toMatch(/Item\s+Description\s+Qty\s+Rate\s+Amount/);
      expect(p).toContain(`Page ${i + 1} of ${pages}`);
    });
    expect(text).toContain('3,000.00');
    expect(text).toContain('Zoë Ångström 297');
  });

  it('renders every real Ledger bill through the server, named like the CSV', async () => {
    let server: TestServer | undefined;
    try {
      server = await startTestServer();
      const b = fixtureBills().find((x) => x.key === '731118-202610')!;
      expect((await server.api('/api/snapshot', { method: 'POST', json: b.body })).status).toBe(201);
      const res = await server.api('/api/snapshot/731118-202610/pdf');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/pdf');
      expect(res.headers.get('content-disposition')).toContain("filename*=UTF-8''M%C3%BCller__S%C3%B6hne_GmbH_2026-10.pdf");
      const text = pdfText(Buffer.from(await res.arrayBuffer()));
      const detail = (await (await server.api('/api/snapshot/731118-202610')).json()) as { total_amount: string; line_items: { item_name: string }[] };
      expect(text).toContain(formatMoney(detail.total_amount));
      for (const l of detail.line_items) expect(text).toContain(l.item_name);
      expect((await server.api('/api/snapshot/nope/pdf')).status).toBe(404);
    } finally {
      await server?.stop();
    }
  });
});
