/**
 * The bill PDF: its text (read back with pdftotext), repeated table headers and page numbers
 * on a 300-line bill, non-ASCII names, and the server's `GET /api/snapshot/:invoice/pdf`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatMoney, renderBillPdf, type BillForPdf, type PdfSettings } from '../../server/pdf/bill-pdf';
import { bulkExport } from '../../shared/export';
import { fixtureBills, makeBill } from '../helpers/fixtures';
import { startTestServer, type TestServer } from '../helpers/server';
import { integrated } from '../helpers/integrity';

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

/** Each page's words with their boxes (pdftotext -bbox). */
function pdfWords(pdf: Buffer): { text: string; x0: number; y0: number; x1: number; y1: number }[][] {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.pdf`);
  fs.writeFileSync(file, pdf);
  const html = execFileSync('pdftotext', ['-bbox', file, '-'], { encoding: 'utf8' });
  return html
    .split('<page ')
    .slice(1)
    .map((page) =>
      [...page.matchAll(/<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g)].map((m) => ({ text: m[5], x0: +m[1], y0: +m[2], x1: +m[3], y1: +m[4] })),
    );
}

/** A 1x1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

const SETTINGS: PdfSettings = {
  currency: 'EUR',
  issuer: {
    name: 'Northwind Managed Services GmbH',
    addressLines: ['Hauptstraße 5', '10115 Berlin', 'Germany'],
    taxId: 'DE123456789',
    logoFile: null,
    paymentTerms: 'Payable within 30 days to IBAN DE02 1203 0000 0000 2020 51, BIC BYLADEM1001, quoting the invoice number.',
  },
};

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
      'Copy of the archived record',
    ]) {
      expect(text, s).toContain(s);
    }
  });

  it('names the issuer, its address, tax id and payment terms, and the currency, from the configuration', async () => {
    const logo = path.join(dir, 'logo.png');
    fs.writeFileSync(logo, PNG);
    const text = pdfText(await renderBillPdf(bill(6), { ...SETTINGS, issuer: { ...SETTINGS.issuer, logoFile: logo } }), false);
    for (const s of [
      'Northwind Managed Services GmbH',
      'Hauptstraße 5',
      '10115 Berlin',
      'Tax ID DE123456789',
      'Amounts in EUR',
      'Total (EUR)',
      'Payment terms',
      'IBAN DE02 1203 0000 0000 2020 51',
      'Bill to',
      'a copy of the bill as Archive recorded it on 2026-11-01 02:00 UTC',
      'To check this copy',
    ])
      expect(text, s).toContain(s);
    // Without configuration: no issuer block, and the default currency.
    // The logo is in the document (one image; its transparency is a mask beside it).
    const withLogo = path.join(dir, 'with-logo.pdf');
    fs.writeFileSync(withLogo, await renderBillPdf(bill(6), { ...SETTINGS, issuer: { ...SETTINGS.issuer, logoFile: logo } }));
    const images = execFileSync('pdfimages', ['-list', withLogo], { encoding: 'utf8' }).trim().split('\n').slice(2);
    expect(images.filter((l) => l.trim().split(/\s+/)[2] === 'image')).toHaveLength(1);
    const plain = pdfText(await renderBillPdf(bill(6)), false);
    expect(plain).toContain('Amounts in USD');
    expect(plain).not.toContain('Payment terms');
  });

  it('prints nothing over anything else, whatever the length of a value', async () => {
    const long = {
      ...bill(40, 'Internationale Gesellschaft für außerordentlich lange Firmennamen und deren Tochterunternehmen in Europa mbH & Co. KG'),
      // The longest invoice number the API takes (50 characters).
      invoice_number: `7${'3'.repeat(42)}-202610`,
      billing_plan: 'Enterprise Premium Plus with extended after-hours support and quarterly on-site reviews',
      support_level: 'All inclusive, including weekends, public holidays and emergency callouts at night',
    };
    long.line_items = long.line_items.map((l, i) =>
      i % 7 === 0
        ? { ...l, item_name: `A very long item name that needs more than one line ${i}`, description: `${l.description} with a description long enough to wrap over two or three lines of its column` }
        : l,
    );
    const logo = path.join(dir, 'logo-overlap.png');
    fs.writeFileSync(logo, PNG);
    const issuer = {
      ...SETTINGS.issuer,
      logoFile: logo,
      name: 'Northwind Managed Services and Consulting for the Healthcare and Legal Sectors GmbH',
      addressLines: ['A very long street name that goes on and on 12345, Building C, Floor 7'],
    };
    const pages = pdfWords(await renderBillPdf(long, { ...SETTINGS, issuer }));
    expect(pages.length).toBeGreaterThan(1);
    pages.forEach((words, p) => {
      for (let i = 0; i < words.length; i++)
        for (let j = i + 1; j < words.length; j++) {
          const [a, b] = [words[i], words[j]];
          const overlap = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) > 0.5 && Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0) > 0.5;
          expect(overlap, `page ${p + 1}: "${a.text}" and "${b.text}" overlap`).toBe(false);
        }
    });
  });

  it('a 300-line bill spans pages, each with the table header and its page number', async () => {
    const pdf = await renderBillPdf(bill(300));
    const pages = pageCount(pdf);
    expect(pages).toBeGreaterThanOrEqual(6);
    const text = pdfText(pdf);
    const perPage = text.split('\f').filter((p) => p.trim());
    expect(perPage).toHaveLength(pages);
    perPage.forEach((p, i) => {
      // Every page of lines has the table's header (a last page may hold only the summary).
      if (/Zoë Ångström|HOST-/.test(p)) expect(p, `page ${i + 1}`).toMatch(/Item\s+Description\s+Qty\s+Rate\s+Amount/);
      expect(p).toContain(`Page ${i + 1} of ${pages}`);
      expect(p).toContain('Invoice 731118-202610 · Müller & Söhne GmbH');
    });
    expect(text).toContain('3,000.00');
    expect(text).toContain('Zoë Ångström 297');
  });

  it('renders every real Ledger bill to the same bytes every time, in the worker threads as in process', async () => {
    let server: TestServer | undefined;
    try {
      server = await startTestServer({ ARCHIVE_CURRENCY: 'EUR', ARCHIVE_ISSUER_NAME: 'Northwind Managed Services GmbH' });
      const bills = fixtureBills();
      for (const b of bills) expect((await server.api('/api/snapshot', { method: 'POST', json: b.body })).status).toBe(201);
      // Once in the log, a bill's PDF names its leaf: the same from then on.
      await integrated(server);
      for (const b of bills) {
        const once = Buffer.from((await server.admin.file(b.body.invoice_number, 'pdf')).data);
        const again = Buffer.from((await server.admin.file(b.body.invoice_number, 'pdf')).data);
        expect(again.equals(once), b.key).toBe(true);
        const log = await (await server.api(`/api/snapshot/${b.body.invoice_number}/log`)).json();
        const inProcess = await renderBillPdf(
          { ...(await server.admin.snapshot(b.body.invoice_number)), log },
          {
            currency: 'EUR',
            issuer: { ...SETTINGS.issuer, addressLines: [], taxId: null, paymentTerms: null },
          },
        );
        expect(inProcess.equals(once), b.key).toBe(true);
      }
      expect(pdfText(Buffer.from((await server.admin.file(bills[0].body.invoice_number, 'pdf')).data))).toContain('Northwind Managed Services GmbH');
    } finally {
      await server?.stop();
    }
  });

  it('names the files of companies that share a name apart: the account is added, in single downloads and bulk exports', async () => {
    let server: TestServer | undefined;
    try {
      server = await startTestServer();
      for (const account of ['700001', '700002']) {
        const b = makeBill({ company_account_number: account, company_name: 'Acme Dental', billing_year: 2026, billing_month: 10 });
        expect((await server.api('/api/snapshot', { method: 'POST', json: b })).status).toBe(201);
      }
      const alone = makeBill({ company_account_number: '700003', company_name: 'Solo GmbH', billing_year: 2026, billing_month: 10 });
      expect((await server.api('/api/snapshot', { method: 'POST', json: alone })).status).toBe(201);
      expect((await server.admin.file('700001-202610', 'csv')).fileName).toBe('Acme_Dental_700001_2026-10.csv');
      expect((await server.admin.file('700002-202610', 'pdf')).fileName).toBe('Acme_Dental_700002_2026-10.pdf');
      expect((await server.admin.file('700003-202610', 'csv')).fileName).toBe('Solo_GmbH_2026-10.csv');
      const written: string[] = [];
      const r = await bulkExport(
        server.admin,
        { year: '2026', month: '10' },
        { place: 'memory', existing: async () => [], write: async (name) => (written.push(name), name) },
        { exportId: 'x', signal: new AbortController().signal, progress: () => undefined },
      );
      expect(r.state).toBe('done');
      expect(written.sort()).toEqual(['Acme_Dental_700001_2026-10.pdf', 'Acme_Dental_700002_2026-10.pdf', 'Solo_GmbH_2026-10.pdf', 'manifest.csv']);
    } finally {
      await server?.stop();
    }
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
      expect(res.headers.get('content-disposition')).toContain('filename="Muller__Sohne_GmbH_2026-10.pdf"');
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
