/**
 * The bill as a PDF a finance person would send: company and period, invoice details, line
 * items grouped by kind with quantity, rate and amount, subtotals, the total, page numbers,
 * table headers repeated on every page, and a footer with the archived time and the content
 * hash. One renderer (pdfkit, DejaVu Sans embedded for every accent and symbol), the server's
 * (`GET /api/snapshot/:invoice/pdf`, in worker threads: pool.ts), whose files the desktop app exports.
 * Money is printed from the archived decimal strings, never through floats.
 * Over 300 lines on purpose: one document's layout reads best in one place, top to bottom.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as fontkit from 'fontkit';
import PDFDocument from 'pdfkit';
import type { BillLogState, LineType, SnapshotDetail } from '../../shared/api';
import { formatMoney, sumMoney } from '../../shared/money';
import { DEFAULT_PDF_SETTINGS, type PdfSettings } from './settings';

export type { PdfSettings };

/** What the PDF prints of a bill: everything but the stored evidence (JSON, CSV) and the counts it does not show. */
export type BillForPdf = Omit<
  SnapshotDetail,
  | 'id'
  | 'line_item_count'
  | 'source'
  | 'billing_data'
  | 'invoice_csv'
  | 'user_count'
  | 'asset_count'
  | 'billable_hours'
  | 'created_by'
  | 'notes'
  | 'revisions'
  | 'revision'
  | 'correction'
  | 'superseded_by_revision'
> &
  Partial<Pick<SnapshotDetail, 'revision' | 'correction' | 'superseded_by_revision'>> & {
    /** Where the bill stands in the tamper-evident log, printed with the content hash. */
    log?: BillLogState;
  };

const require = createRequire(import.meta.url);
const FONT_DIR = path.join(path.dirname(require.resolve('dejavu-fonts-ttf/README.md')), 'ttf');
// Parsed once and shared by every document: opening a TrueType font costs ~200 ms, and
// fontkit keeps its glyph and layout caches on the font object.
let fonts: { regular: unknown; bold: unknown } | undefined;
function loadFonts(): { regular: unknown; bold: unknown } {
  fonts ??= {
    regular: fontkit.create(fs.readFileSync(path.join(FONT_DIR, 'DejaVuSans.ttf'))),
    bold: fontkit.create(fs.readFileSync(path.join(FONT_DIR, 'DejaVuSans-Bold.ttf'))),
  };
  return fonts;
}

const GROUPS: { type: LineType; title: string; subtotal: keyof BillForPdf }[] = [
  { type: 'user', title: 'Users', subtotal: 'total_user_charges' },
  { type: 'asset', title: 'Assets', subtotal: 'total_asset_charges' },
  { type: 'backup', title: 'Backup', subtotal: 'total_backup_charges' },
  { type: 'ticket', title: 'Hourly labour', subtotal: 'total_ticket_charges' },
  { type: 'custom', title: 'Custom charges', subtotal: 'total_line_item_charges' },
];

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

export { formatMoney };

export function periodLabel(year: number, month: number): string {
  return `${MONTHS[month - 1]} ${year}`;
}

const PAGE = { margin: 50, footer: 40 };
const COLS = [
  { key: 'item', title: 'Item', width: 130, align: 'left' as const },
  { key: 'description', title: 'Description', width: 175, align: 'left' as const },
  { key: 'qty', title: 'Qty', width: 45, align: 'right' as const },
  { key: 'rate', title: 'Rate', width: 70, align: 'right' as const },
  { key: 'amount', title: 'Amount', width: 75, align: 'right' as const },
];
const GAP = 0; // COLS widths add up to the text width of A4 with 50 pt margins (495 pt)
/** The height of one line of 9 pt DejaVu Sans, as pdfkit measures it. */
const LINE = 10.5;

/** Renders the bill; resolves with the PDF bytes, the same bytes every time for the same bill and settings. */
export function renderBillPdf(bill: BillForPdf, settings: PdfSettings = DEFAULT_PDF_SETTINGS, opts: { generatedAt?: Date } = {}): Promise<Buffer> {
  const { regular, bold } = loadFonts();
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: PAGE.margin, left: PAGE.margin, right: PAGE.margin, bottom: PAGE.margin + PAGE.footer },
    bufferPages: true,
    font: regular as string, // a fontkit font object, which pdfkit takes as is
    info: {
      Title: `Invoice ${bill.invoice_number}`,
      Subject: `${bill.company_name ?? bill.company_account_number}, ${periodLabel(bill.billing_year, bill.billing_month)}`,
      Author: 'Archive',
      Keywords: `sha256:${bill.content_hash}`,
      CreationDate: opts.generatedAt ?? new Date(bill.archived_at),
    },
  });
  doc.registerFont('regular', regular as string);
  doc.registerFont('bold', bold as string);
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  // pdfkit compares fonts by serialising their name tables on every switch (a sixth of the
  // render): switch only when the face changes.
  let face = 'regular';
  const font = (name: 'regular' | 'bold') => {
    if (name !== face) doc.font(name);
    face = name;
    return doc;
  };

  const left = PAGE.margin;
  const width = doc.page.width - 2 * PAGE.margin;
  const bottom = () => doc.page.height - PAGE.margin - PAGE.footer;

  /** A new page when `h` more points do not fit on this one; true when it took one. */
  const room = (h: number) => {
    if (doc.y + h <= bottom()) return false;
    doc.addPage();
    doc.y = PAGE.margin;
    return true;
  };

  // Header: the issuer (logo, name, address, tax id) on the left; the invoice on the right.
  const rightW = 200;
  const rightX = left + width - rightW;
  const issuerW = width - rightW - 20;
  let y = PAGE.margin;
  if (settings.issuer.logoFile) {
    doc.image(logoOf(settings.issuer.logoFile), left, y, { fit: [140, 48] });
    y += 56;
  }
  doc.x = left;
  doc.y = y;
  if (settings.issuer.name) font('bold').fontSize(12).fillColor('#111').text(settings.issuer.name, left, doc.y, { width: issuerW });
  for (const line of settings.issuer.addressLines) font('regular').fontSize(9).fillColor('#333').text(line, left, doc.y, { width: issuerW });
  if (settings.issuer.taxId) font('regular').fontSize(9).fillColor('#333').text(`Tax ID ${settings.issuer.taxId}`, left, doc.y, { width: issuerW });
  const issuerBottom = doc.y;
  font('bold').fontSize(20).fillColor('#111').text('Invoice', rightX, PAGE.margin, { width: rightW, align: 'right' });
  const revision = bill.revision ?? 1;
  font('regular')
    .fontSize(10)
    .fillColor('#555')
    .text(revision > 1 ? `${bill.invoice_number}, revision ${revision}` : bill.invoice_number, rightX, doc.y, { width: rightW, align: 'right' });
  doc.text(periodLabel(bill.billing_year, bill.billing_month), rightX, doc.y, { width: rightW, align: 'right' });
  doc.text(`Amounts in ${settings.currency}`, rightX, doc.y, { width: rightW, align: 'right' });
  doc.y = Math.max(issuerBottom, doc.y) + 16;

  font('regular').fontSize(8).fillColor('#666').text('Bill to', left, doc.y, { width });
  font('bold')
    .fontSize(14)
    .fillColor('#111')
    .text(bill.company_name || `Account ${bill.company_account_number}`, left, doc.y, { width });
  font('regular').fontSize(10).fillColor('#333').text(`Account ${bill.company_account_number}`, left, doc.y, { width });
  // A correction says so before anything else is read; so does a bill a correction replaced.
  const notices = [
    bill.correction
      ? `Correction: revision ${revision} of invoice ${bill.invoice_number}, correcting revision ${bill.correction.supersedes_revision} because ${bill.correction.reason} (filed by ${bill.correction.corrected_by}).`
      : null,
    bill.superseded_by_revision ? `Superseded: revision ${bill.superseded_by_revision} corrects this bill; this copy is kept as the record of what was billed first.` : null,
  ].filter((n): n is string => n !== null);
  for (const n of notices) {
    doc.moveDown(0.6);
    font('bold').fontSize(10).fillColor('#8a1c1c').text(n, left, doc.y, { width });
  }
  doc.moveDown(0.8);

  // Details in two columns; a long value wraps and its row grows, so nothing prints over the next.
  const details: [string, string][] = [
    ['Invoice number', bill.invoice_number],
    ['Billing period', periodLabel(bill.billing_year, bill.billing_month)],
    ['Invoice date', bill.invoice_date],
    ['Due date', bill.due_date ?? '—'],
    ['Plan', bill.billing_plan || '—'],
    ['Contract term', bill.contract_term || '—'],
    ['Support level', bill.support_level || '—'],
    ['Currency', settings.currency],
  ];
  const labelW = 90;
  const valueW = width / 2 - labelW - 8;
  font('regular').fontSize(9);
  for (let i = 0; i < details.length; i += 2) {
    const pair = details.slice(i, i + 2);
    const h = Math.max(...pair.map(([k, v]) => Math.max(doc.heightOfString(k, { width: labelW }), doc.heightOfString(v, { width: valueW })))) + 5;
    room(h);
    const rowY = doc.y;
    pair.forEach(([k, v], col) => {
      const x = left + col * (width / 2);
      doc.fillColor('#666').text(k, x, rowY, { width: labelW });
      doc.fillColor('#111').text(v, x + labelW + 2, rowY, { width: valueW });
    });
    doc.y = rowY + h;
  }
  doc.y += 12;

  // The table, grouped by kind, with the header repeated after every page break.
  const header = () => {
    const y = doc.y;
    doc.rect(left, y - 3, width, 18).fill('#eef1f5');
    let x = left;
    font('bold').fontSize(9).fillColor('#222');
    for (const c of COLS) {
      doc.text(c.title, x + 4, y + 1, { width: c.width - 8, align: c.align, lineBreak: false });
      x += c.width + GAP;
    }
    doc.y = y + 20;
  };
  const ensure = (h: number) => {
    if (room(h)) header();
  };
  // Most cells fit on one line: those are placed directly (one measurement, no line wrapper,
  // which is most of pdfkit's time); only longer text goes through wrapping.
  const fits = (text: string, w: number) => doc.widthOfString(text) <= w;
  const cell = (text: string, x: number, y: number, w: number, align: 'left' | 'right') => {
    if (!text) return;
    if (fits(text, w)) doc.text(text, align === 'right' ? x + w - doc.widthOfString(text) : x, y, { lineBreak: false });
    else doc.text(text, x, y, { width: w, align });
  };
  const row = (cells: Record<string, string>, opts: { bold?: boolean; shade?: string } = {}) => {
    font(opts.bold ? 'bold' : 'regular').fontSize(9);
    const h = Math.max(LINE, ...COLS.filter((c) => cells[c.key] && !fits(cells[c.key], c.width - 8)).map((c) => doc.heightOfString(cells[c.key], { width: c.width - 8 }))) + 6;
    ensure(h);
    const y = doc.y;
    if (opts.shade) doc.rect(left, y - 2, width, h).fill(opts.shade);
    let x = left;
    font(opts.bold ? 'bold' : 'regular').fillColor('#111');
    for (const c of COLS) {
      cell(cells[c.key] ?? '', x + 4, y + 1, c.width - 8, c.align);
      x += c.width + GAP;
    }
    doc.y = y + h;
    doc
      .moveTo(left, doc.y - 2)
      .lineTo(left + width, doc.y - 2)
      .lineWidth(0.3)
      .strokeColor('#d9dde3')
      .stroke();
  };

  header();
  const subtotals: [string, string][] = [];
  for (const g of GROUPS) {
    const lines = bill.line_items.filter((l) => l.line_type === g.type);
    if (lines.length === 0) continue;
    ensure(40);
    row({ item: g.title }, { bold: true, shade: '#f7f8fa' });
    for (const l of lines) {
      row({ item: l.item_name, description: l.description ?? '', qty: l.line_type === 'ticket' ? l.quantity : trimQty(l.quantity), rate: formatMoney(l.rate), amount: formatMoney(l.amount) });
    }
    const sum = sumMoney(lines.map((l) => l.amount));
    row({ description: `Subtotal ${g.title.toLowerCase()}`, amount: formatMoney(sum) }, { bold: true });
    subtotals.push([g.title, sum]);
  }
  if (bill.line_items.length === 0) row({ item: 'No charges this month', amount: formatMoney('0.00') });

  // Summary: the category subtotals and the total as archived.
  room(40 + 16 * subtotals.length);
  doc.moveDown(0.6);
  const sx = left + width - 250;
  for (const [title, sum] of subtotals) {
    const y = doc.y;
    font('regular').fontSize(9).fillColor('#333').text(title, sx, y, { width: 160 });
    doc.text(formatMoney(sum), sx + 160, y, { width: 90, align: 'right' });
    doc.y = y + 14;
  }
  const ty = doc.y + 4;
  doc
    .moveTo(sx, ty)
    .lineTo(left + width, ty)
    .lineWidth(0.8)
    .strokeColor('#333')
    .stroke();
  font('bold')
    .fontSize(12)
    .fillColor('#111')
    .text(`Total (${settings.currency})`, sx, ty + 6, { width: 120 });
  doc.text(formatMoney(bill.total_amount), sx + 110, ty + 6, { width: 140, align: 'right' });
  doc.y = ty + 28;

  if (settings.issuer.paymentTerms) {
    font('regular').fontSize(9);
    room(doc.heightOfString(settings.issuer.paymentTerms, { width }) + 24);
    font('bold').fontSize(9).fillColor('#111').text('Payment terms', left, doc.y, { width });
    font('regular').fontSize(9).fillColor('#333').text(settings.issuer.paymentTerms, left, doc.y, { width });
    doc.moveDown(0.6);
  }

  if (bill.warnings.length) {
    room(30);
    font('regular')
      .fontSize(8)
      .fillColor('#8a5a00')
      .text(`Note: ${bill.warnings.map((w) => w.message).join(' ')}`, left, doc.y, { width });
  }

  /** `head` and as much of `tail` as fits in `w` points (with an ellipsis when cut). */
  const fitted = (head: string, tail: string, w: number) => {
    if (doc.widthOfString(head + tail) <= w) return head + tail;
    const chars = [...tail];
    while (chars.length && doc.widthOfString(`${head}${chars.join('')}…`) > w) chars.pop();
    return `${head}${chars.join('')}…`;
  };

  // That this is a copy of the record, and how anyone can check it.
  const archived = new Date(bill.archived_at).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  const ref = revision > 1 ? `${bill.invoice_number}?revision=${revision}` : bill.invoice_number;
  const about =
    `This document is a copy of the bill as Archive recorded it on ${archived}; the record cannot be changed. ` +
    `Its content hash is sha256:${bill.content_hash}. To check this copy, ask the archive for invoice ${bill.invoice_number} ` +
    `(GET /api/snapshot/${ref}): it recomputes the same hash from the stored bill.` +
    (bill.log?.state === 'included'
      ? ` The bill is leaf ${bill.log.leaf_index} of the archive's tamper-evident log${bill.log.first_checkpoint_size !== null ? `, first signed in checkpoint ${bill.log.first_checkpoint_size}` : ''}; ` +
        `its evidence bundle (GET /api/snapshot/${bill.invoice_number}/bundle${revision > 1 ? `?revision=${revision}` : ''}) proves it offline with the log's verifier key.`
      : bill.log?.state === 'queued'
        ? ` When this copy was made, the bill was queued for the archive's tamper-evident log.`
        : '');
  font('regular').fontSize(7.5);
  room(doc.heightOfString(about, { width }) + 12);
  doc.moveDown(0.8);
  doc.fillColor('#555').text(about, left, doc.y, { width });

  // On every page: the invoice, the company, "page n of m", and the content hash.
  const range = doc.bufferedPageRange();
  const company = bill.company_name || `Account ${bill.company_account_number}`;
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    const fy = doc.page.height - PAGE.margin - 14;
    const saved = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    doc
      .moveTo(left, fy - 6)
      .lineTo(left + width, fy - 6)
      .lineWidth(0.3)
      .strokeColor('#c8cdd4')
      .stroke();
    font('regular').fontSize(7).fillColor('#444');
    // As much of the company's name as fits beside the page number, never over it.
    doc.text(fitted(`Invoice ${bill.invoice_number} · `, company, width - 78), left, fy, { width: width - 70, lineBreak: false });
    doc.text(`Page ${i - range.start + 1} of ${range.count}`, left + width - 70, fy, { width: 70, align: 'right', lineBreak: false });
    doc.fillColor('#666').text(`Copy of the archived record · content hash sha256:${bill.content_hash}`, left, fy + 10.5, { width, lineBreak: false });
    doc.page.margins.bottom = saved;
  }
  doc.end();
  return done;
}

/** The logo's bytes, read once per file. */
const logos = new Map<string, Buffer>();
function logoOf(file: string): Buffer {
  let data = logos.get(file);
  if (!data) logos.set(file, (data = fs.readFileSync(file)));
  return data;
}

/** "1.00" prints as "1" for whole units (users, assets), as Ledger's CSV does. */
function trimQty(q: string): string {
  return q.endsWith('.00') ? q.slice(0, -3) : q;
}
