/** Search, company history and stats over a known set of bills. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnapshotPost } from '../../shared/api';
import { insertPrepared, prepareSnapshot } from '../../server/snapshots/archive';
import { makeBill } from '../helpers/fixtures';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;

interface Seed {
  account: string;
  name: string;
  year: number;
  month: number;
  total: number;
  archivedAt: string;
}

const SEEDS: Seed[] = [
  { account: '200001', name: 'Alpha Dental', year: 2025, month: 11, total: 100, archivedAt: '2025-12-01T09:00:00Z' },
  { account: '200001', name: 'Alpha Dental', year: 2025, month: 12, total: 150.5, archivedAt: '2026-01-01T02:00:00Z' },
  { account: '200001', name: 'Alpha Dental Group', year: 2026, month: 1, total: 175.25, archivedAt: '2026-02-01T02:00:00Z' },
  { account: '200002', name: 'Beta Logistics', year: 2026, month: 1, total: 999.99, archivedAt: '2026-01-31T23:30:00Z' },
  { account: '200003', name: 'Gamma 100% Legal_Partners', year: 2026, month: 2, total: 50, archivedAt: '2026-03-01T00:00:00Z' },
];

beforeAll(async () => {
  server = await startTestServer();
  for (const s of SEEDS) {
    const bill = makeBill({
      company_account_number: s.account,
      company_name: s.name,
      billing_year: s.year,
      billing_month: s.month,
      line_items: [{ line_type: 'user', item_name: 'U', description: 'User: U (Paid)', quantity: 1, rate: s.total, amount: s.total }],
    });
    await insertPrepared(server.database.knex, prepareSnapshot(SnapshotPost.parse(bill), '0.05'), { archivedAt: new Date(s.archivedAt) });
  }
});
afterAll(async () => {
  await server?.stop();
});

async function search(qs: string) {
  const res = await server.api(`/api/snapshots/search${qs ? `?${qs}` : ''}`);
  return { status: res.status, body: await res.json() };
}
const invoices = (body: any) => body.results.map((r: any) => r.invoice_number);

describe('GET /api/snapshots/search', () => {
  it('lists the newest archived first by default, without big columns', async () => {
    const { status, body } = await search('');
    expect(status).toBe(200);
    expect(body).toMatchObject({ total: 5, limit: 100, offset: 0 });
    expect(invoices(body)).toEqual(['200003-202602', '200001-202601', '200002-202601', '200001-202512', '200001-202511']);
    expect(Object.keys(body.results[0])).not.toContain('billing_data');
    expect(Object.keys(body.results[0])).not.toContain('invoice_csv');
    expect(Object.keys(body.results[0])).not.toContain('raw_body');
    expect(body.results[0].total_amount).toBe('50.00');
  });

  it('filters by account, invoice, year and month', async () => {
    expect(invoices((await search('account_number=200001')).body)).toHaveLength(3);
    expect(invoices((await search('invoice_number=200002-202601')).body)).toEqual(['200002-202601']);
    expect(invoices((await search('year=2026&month=1&sort=company_name&order=asc')).body)).toEqual(['200001-202601', '200002-202601']);
  });

  it('matches company names case-insensitively as a substring, with % and _ taken literally', async () => {
    expect(invoices((await search('company=DENTAL&sort=period&order=asc')).body)).toEqual(['200001-202511', '200001-202512', '200001-202601']);
    expect(invoices((await search('company=100%25')).body)).toEqual(['200003-202602']);
    expect(invoices((await search('company=_legal')).body)).toEqual([]);
    expect(invoices((await search('company=legal_')).body)).toEqual(['200003-202602']);
  });

  it('filters by an inclusive period range', async () => {
    const { body } = await search('from_period=2025-12&to_period=2026-01&sort=period&order=asc');
    expect(invoices(body)).toEqual(['200001-202512', '200001-202601', '200002-202601']);
  });

  it('filters by amount range, exactly', async () => {
    expect(invoices((await search('min_total=150.50&max_total=175.25&sort=total_amount&order=asc')).body)).toEqual(['200001-202512', '200001-202601']);
    expect(invoices((await search('min_total=150.51&max_total=175.24')).body)).toEqual([]);
  });

  it('filters archived dates as whole days in the time zone given', async () => {
    // 2026-01-31T23:30Z is Jan 31 in UTC but Feb 1 in Berlin; 2026-02-01T02:00Z is Feb 1 in both.
    expect(invoices((await search('archived_from=2026-01-31&archived_to=2026-01-31')).body)).toEqual(['200002-202601']);
    expect(invoices((await search('archived_from=2026-02-01&archived_to=2026-02-01&tz=Europe/Berlin&sort=invoice_number&order=asc')).body)).toEqual(['200001-202601', '200002-202601']);
    // 2026-03-01T00:00Z is still Feb 28 in New York.
    expect(invoices((await search('archived_to=2026-02-28&archived_from=2026-02-28&tz=America/New_York')).body)).toEqual(['200003-202602']);
    expect(invoices((await search('archived_from=2026-03-01')).body)).toEqual(['200003-202602']);
  });

  it('sorts account and invoice numbers as numbers (61260 before 612620)', async () => {
    let extra: TestServer | undefined;
    try {
      extra = await startTestServer();
      for (const account of ['612620', '61260', '9', '100000']) {
        const b = makeBill({ company_account_number: account, billing_year: 2026, billing_month: 10 });
        expect((await extra.api('/api/snapshot', { method: 'POST', json: b })).status).toBe(201);
      }
      const order = async (sort: string, dir: string) =>
        ((await (await extra!.api(`/api/snapshots/search?sort=${sort}&order=${dir}`)).json()) as { results: { company_account_number: string }[] }).results.map((r) => r.company_account_number);
      expect(await order('company_account_number', 'asc')).toEqual(['9', '61260', '100000', '612620']);
      expect(await order('company_account_number', 'desc')).toEqual(['612620', '100000', '61260', '9']);
      expect(await order('invoice_number', 'asc')).toEqual(['9', '61260', '100000', '612620']);
    } finally {
      await extra?.stop();
    }
  });

  it('counts a broad search up to a bound and says so, so it stays fast at millions of bills', async () => {
    let extra: TestServer | undefined;
    try {
      extra = await startTestServer();
      const b = makeBill({ company_account_number: '880000', company_name: 'Broad Name Ltd' });
      expect((await extra.api('/api/snapshot', { method: 'POST', json: b })).status).toBe(201);
      // 1,050 more of the same company name, copied in SQL (the bound is 1,000).
      await extra.db.knex.raw(
        `INSERT INTO billing_snapshots (company_account_number, company_name, invoice_number, billing_year, billing_month, invoice_date, total_amount, billing_data_json, invoice_csv, line_item_count, content_hash)
        SELECT (881000 + g)::text, company_name, (881000 + g)::text || '-202603', billing_year, billing_month, invoice_date, 0, '{}', '', 0, content_hash
          FROM billing_snapshots, generate_series(1, 1050) g WHERE invoice_number = ?`,
        [b.invoice_number],
      );
      const get = async (qs: string) => (await (await extra!.api(`/api/snapshots/search?${qs}`, { token: ADMIN_TOKEN })).json()) as { total: number; total_exact: boolean; results: unknown[] };
      expect(await get('company=broad&limit=10')).toMatchObject({ total: 1_000, total_exact: false });
      // Deep pages count further: up to offset + limit, which here holds them all.
      const deep = await get('company=broad&limit=100&offset=1000');
      expect(deep).toMatchObject({ total: 1_051, total_exact: true });
      expect(deep.results).toHaveLength(51);
      // An unfiltered search takes the exact count from the counter.
      expect(await get('limit=1')).toMatchObject({ total: 1_051, total_exact: true });
    } finally {
      await extra?.stop();
    }
  }, 60_000);

  it('sorts by total as numbers, not as text, both ways', async () => {
    const totals = async (order: string) => (await search(`sort=total_amount&order=${order}`)).body.results.map((r: { total_amount: string }) => r.total_amount);
    expect(await totals('asc')).toEqual(['50.00', '100.00', '150.50', '175.25', '999.99']);
    expect(await totals('desc')).toEqual(['999.99', '175.25', '150.50', '100.00', '50.00']);
  });

  it('paginates with a stable order and tells the total', async () => {
    const page1 = (await search('limit=2&offset=0&sort=period&order=asc')).body;
    const page2 = (await search('limit=2&offset=2&sort=period&order=asc')).body;
    const page3 = (await search('limit=2&offset=4&sort=period&order=asc')).body;
    expect(page1.total).toBe(5);
    expect([...invoices(page1), ...invoices(page2), ...invoices(page3)]).toHaveLength(5);
    expect(new Set([...invoices(page1), ...invoices(page2), ...invoices(page3)]).size).toBe(5);
  });

  it.each([
    ['year=abc', 'year', 'must be a whole number'],
    ['month=13', 'month', 'must be from 1 to 12'],
    ['limit=1001', 'limit', 'must be from 1 to 1000'],
    ['limit=0', 'limit', 'must be from 1 to 1000'],
    ['offset=-1', 'offset', 'must be a whole number'],
    ['from_period=2026-13', 'from_period', 'must be a period written YYYY-MM'],
    ['min_total=1e5', 'min_total', 'must be an amount such as 100 or 100.50'],
    ['archived_from=2026-02-30', 'archived_from', 'must be a date written YYYY-MM-DD'],
    ['tz=Mars/Olympus', 'tz', 'must be an IANA time zone such as Europe/Berlin'],
    ['sort=password', 'sort', 'must be one of archived_at, period, total_amount, company_name, company_account_number, invoice_number, invoice_date'],
    ['order=up', 'order', 'must be asc or desc'],
    ['colour=red', 'colour', 'is not a known parameter'],
    ['year=2026&year=2025', 'year', 'must be a string'],
    ['from_period=2026-02&to_period=2026-01', 'to_period', 'must not be before from_period'],
    ['min_total=10&max_total=5', 'max_total', 'must not be less than min_total'],
  ])('%s is 400 naming %s', async (qs, field, reason) => {
    const { status, body } = await search(qs);
    expect(status).toBe(400);
    expect(body.code).toBe('validation_failed');
    expect(body.details.fields).toContainEqual({ field, reason });
  });
});

describe('GET /api/snapshots/company/:account', () => {
  it('gives the history newest period first, with the latest name and count', async () => {
    const res = await server.api('/api/snapshots/company/200001?limit=2');
    const body = await res.json();
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ account_number: '200001', company_name: 'Alpha Dental Group', total: 3, limit: 2, offset: 0 });
    expect(invoices(body)).toEqual(['200001-202601', '200001-202512']);
    const next = await (await server.api('/api/snapshots/company/200001?limit=2&offset=2')).json();
    expect(invoices(next)).toEqual(['200001-202511']);
  });
  it('404 for a company with no bills, 400 for a malformed account', async () => {
    expect((await server.api('/api/snapshots/company/299999')).status).toBe(404);
    const bad = await server.api('/api/snapshots/company/abc');
    expect(bad.status).toBe(400);
    expect((await bad.json()).details.fields[0].field).toBe('account_number');
  });
});

describe('GET /api/stats', () => {
  it('counts, the latest bill, and 24 months of totals', async () => {
    const res = await server.api('/api/stats', { token: ADMIN_TOKEN });
    const body = await res.json();
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ snapshots: 5, companies: 3, latest_archived_at: '2026-03-01T00:00:00.000Z', latest_invoice_number: '200003-202602' });
    expect(body.monthly_totals).toHaveLength(24);
    const byPeriod = Object.fromEntries(body.monthly_totals.map((m: any) => [m.period, m]));
    expect(byPeriod['2026-01']).toEqual({ period: '2026-01', total: '1175.24', snapshots: 2 });
    expect(byPeriod['2025-12']).toEqual({ period: '2025-12', total: '150.50', snapshots: 1 });
  });
});

describe('GET /health', () => {
  it('answers ok without a token', async () => {
    const res = await server.api('/health', { token: null });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', service: 'archive' });
  });
});
