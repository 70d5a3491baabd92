/**
 * POST /api/snapshot: Ledger's bills in, exactly once, exact to the cent.
 * Over 300 lines: one file per feature (ingest), as the other test files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureBills, fixtureIndex, makeBill } from '../helpers/fixtures';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../helpers/server';
import { roundLedger } from '../../shared/money';
import { invoiceNumberFor } from '../../shared/period';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const post = (body: unknown, token?: string) => server.api('/api/snapshot', { method: 'POST', json: body, token });
const postRaw = (raw: string, headers: Record<string, string> = { 'Content-Type': 'application/json' }) => server.api('/api/snapshot', { method: 'POST', body: raw, headers });
const count = async (table: string) => Number((await server.database.knex(table).count('* as n').first())!.n);

describe('every real Ledger bill', () => {
  const bills = fixtureBills();
  const index = fixtureIndex();

  it('has the fixtures', () => {
    expect(bills.length).toBeGreaterThanOrEqual(24);
  });

  it.each(bills.map((b) => [b.key, b] as const))('%s is archived and read back as posted', async (_key, bill) => {
    const res = await postRaw(bill.rawBody);
    const created = await res.json();
    expect(res.status, JSON.stringify(created)).toBe(201);
    expect(created.invoice_number).toBe(bill.body.invoice_number);
    expect(created.content_hash).toMatch(/^[0-9a-f]{64}$/);

    const got = await (await server.api(`/api/snapshot/${bill.body.invoice_number}`)).json();
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
      'user_count',
      'asset_count',
      'created_by',
      'notes',
    ]) {
      expect(got[f], f).toEqual(bill.body[f] ?? null);
    }
    for (const f of ['total_amount', 'total_user_charges', 'total_asset_charges', 'total_backup_charges', 'total_ticket_charges', 'total_line_item_charges', 'billable_hours']) {
      expect(got[f], f).toBe(roundLedger(bill.body[f]));
    }
    expect(got.billing_data).toEqual(bill.body.billing_data_json);
    expect(got.content_hash).toBe(created.content_hash);
    expect(got.archived_at).toMatch(/Z$/);
    expect(got.line_items).toHaveLength(bill.body.line_items.length);
    got.line_items.forEach((li: any, i: number) => {
      const sent = bill.body.line_items[i];
      expect(li).toEqual({
        line_type: sent.line_type,
        item_name: sent.item_name,
        description: sent.description,
        quantity: roundLedger(sent.quantity),
        rate: roundLedger(sent.rate),
        amount: roundLedger(sent.amount),
      });
    });

    // The line items, read back, match Ledger's own CSV cent for cent.
    if (bill.csv) {
      const csvAmounts = bill.csv
        .trim()
        .split('\r\n')
        .slice(1)
        .map((l) => l.split(',').at(-1));
      expect(got.line_items.map((l: any) => l.amount)).toEqual(csvAmounts);
    }

    const csvRes = await server.api(`/api/snapshot/${bill.body.invoice_number}/csv`);
    expect(csvRes.status).toBe(200);
    expect(csvRes.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(await csvRes.text()).toBe(bill.body.invoice_csv);
    if (bill.csv) expect(bill.body.invoice_csv).toBe(bill.csv);
    const expectedDisposition = index.find((e) => invoiceNumberFor(e.account_number, e.year, e.month) === bill.key)?.csv_content_disposition;
    const fileName = /filename="([^"]+)"/.exec(expectedDisposition ?? '')?.[1];
    const disposition = csvRes.headers.get('content-disposition')!;
    const utf8Name = decodeURIComponent(/filename\*=UTF-8''([^;]+)/.exec(disposition)?.[1] ?? /filename="([^"]+)"/.exec(disposition)![1]);
    if (fileName) expect(utf8Name).toBe(fileName);

    const raw = await server.api(`/api/snapshot/${bill.body.invoice_number}/raw`);
    expect(await raw.text()).toBe(bill.rawBody);

    expect((await server.api(`/api/snapshot/${bill.body.invoice_number}`, { method: 'GET' })).status).toBe(200);
  });

  it('a second post of any of them is 409 and says the content is identical', async () => {
    const before = await count('billing_snapshots');
    for (const bill of bills.slice(0, 5)) {
      const res = await postRaw(bill.rawBody);
      const body = await res.json();
      expect(res.status).toBe(409);
      expect(body.code).toBe('already_archived');
      expect(body.error).toMatch(/already been archived/);
      expect(body.details.identical).toBe(true);
    }
    expect(await count('billing_snapshots')).toBe(before);
  });
});

describe('duplicates', () => {
  it('a changed bill for an archived company and month is 409, not identical, and changes nothing', async () => {
    const bill = makeBill({ company_account_number: '910001' });
    expect((await post(bill)).status).toBe(201);
    const changed = { ...bill, invoice_number: '910001-202603-B', notes: 'resent' };
    const res = await post(changed);
    const body = await res.json();
    expect(res.status).toBe(409);
    expect(body.details).toMatchObject({ identical: false, conflict: 'company_period', existing: { invoice_number: bill.invoice_number } });
    expect(body.error).toMatch(/910001 for 2026-03 has already been archived as invoice 910001-202603/);
    const rows = await server.database.knex('billing_snapshots').where('company_account_number', '910001');
    expect(rows).toHaveLength(1);
    expect(rows[0].notes).toBeNull();
  });

  it('ten concurrent posts of the same new bill give exactly one 201', async () => {
    const bill = makeBill({ company_account_number: '910002' });
    const statuses = await Promise.all(Array.from({ length: 10 }, () => post(bill).then((r) => r.status)));
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(9);
    expect(await server.database.knex('billing_snapshots').where('company_account_number', '910002').count('* as n').first()).toEqual({ n: 1 });
    const snap = await server.database.knex('billing_snapshots').where('company_account_number', '910002').first();
    expect(await server.database.knex('snapshot_line_items').where('snapshot_id', snap.id).count('* as n').first()).toEqual({ n: 2 });
  });
});

describe('money', () => {
  it('stays exact: 0.10 + 0.20 is 0.30, with no warning', async () => {
    const res = await post(makeBill({ company_account_number: '920001' }));
    const created = await res.json();
    expect(res.status).toBe(201);
    expect(created.warnings).toEqual([]);
    const got = await (await server.api('/api/snapshot/920001-202603')).json();
    expect(got.total_amount).toBe('0.30');
    expect(got.line_items.map((l: any) => l.amount)).toEqual(['0.10', '0.20']);
    const sum = await server.database.knex('snapshot_line_items').where('snapshot_id', got.id).sum('amount as s').first();
    expect(String(sum!.s)).toBe('0.30');
  });

  it("rounds Ledger's floats like Python's :.2f (ties to even on the exact binary value)", async () => {
    const lines = [
      { line_type: 'ticket', item_name: 'Billable Hours', description: 'Billable Hours (2.91 hrs)', quantity: 2.91, rate: 137.5, amount: 400.125 },
      { line_type: 'backup', item_name: 'Backup Services', description: 'Backup', quantity: 1, rate: 14.996999999963627, amount: 14.996999999963627 },
      { line_type: 'custom', item_name: 'X', description: 'X (One-Off)', quantity: 1, rate: 2.675, amount: 2.675 },
    ];
    const res = await post(makeBill({ company_account_number: '920002', line_items: lines, total_amount: 417.7969999999636, total_user_charges: null }));
    expect(res.status).toBe(201);
    const got = await (await server.api('/api/snapshot/920002-202603')).json();
    expect(got.line_items.map((l: any) => l.amount)).toEqual(['400.12', '15.00', '2.67']);
    expect(got.total_amount).toBe('417.80');
    // 400.12 + 15.00 + 2.67 = 417.79: a rounding cent, kept as a visible warning.
    expect(got.warnings).toContainEqual(expect.objectContaining({ code: 'line_items_total_mismatch', expected: '417.80', actual: '417.79', difference: '-0.01' }));
    const list = await (await server.api('/api/snapshots/search?account_number=920002')).json();
    expect(list.results[0].has_warnings).toBe(true);
  });

  it('refuses totals beyond the tolerance with 422, naming both sums, and stores nothing', async () => {
    const before = await count('billing_snapshots');
    const res = await post(makeBill({ company_account_number: '920003', total_amount: 10.3 }));
    const body = await res.json();
    expect(res.status).toBe(422);
    expect(body.code).toBe('totals_mismatch');
    expect(body.details).toMatchObject({ field: 'line_items', expected: '10.30', actual: '0.30', difference: '-10.00', tolerance: '0.05' });
    expect(await count('billing_snapshots')).toBe(before);
  });

  it('checks each category total against its own line items', async () => {
    const res = await post(makeBill({ company_account_number: '920004', total_user_charges: 0.3, total_asset_charges: 5 }));
    expect(res.status).toBe(422);
    expect((await res.json()).details).toMatchObject({ field: 'total_asset_charges', category: 'asset', actual: '0.00', expected: '5.00' });
  });

  it('checks the category totals against the total too', async () => {
    const lines = [
      { line_type: 'user', item_name: 'Ada', description: 'User', quantity: 1, rate: 0.3, amount: 0.3 },
      { line_type: 'custom', item_name: 'Setup', description: 'Setup', quantity: 1, rate: 5, amount: 5 },
    ];
    // The custom lines have no category total, so the categories add up to 0.30 of 5.30.
    const res = await post(makeBill({ company_account_number: '920014', line_items: lines, total_amount: 5.3, total_user_charges: 0.3 }));
    expect(res.status).toBe(422);
    expect((await res.json()).details).toMatchObject({ field: 'total_*_charges', actual: '0.30', expected: '5.30' });
  });

  it('an empty company with no line items and total 0.0 is archived', async () => {
    const res = await post(makeBill({ company_account_number: '920005', line_items: [], total_amount: 0.0, total_user_charges: 0.0 }));
    expect(res.status).toBe(201);
    const got = await (await server.api('/api/snapshot/920005-202603')).json();
    expect(got).toMatchObject({ total_amount: '0.00', line_items: [], line_item_count: 0, warnings: [] });
  });
});

describe('non-ASCII', () => {
  it('round-trips a company name and sanitises its CSV file name', async () => {
    const bill = makeBill({ company_account_number: '930001', company_name: 'Ærø Fiskerøgeri & Søn / Zürich "Nord"' });
    expect((await post(bill)).status).toBe(201);
    const got = await (await server.api('/api/snapshot/930001-202603')).json();
    expect(got.company_name).toBe('Ærø Fiskerøgeri & Søn / Zürich "Nord"');
    const csv = await server.api('/api/snapshot/930001-202603/csv');
    const disposition = csv.headers.get('content-disposition')!;
    const name = decodeURIComponent(/filename\*=UTF-8''([^;]+)/.exec(disposition)![1]);
    expect(name).toBe('Ærø_Fiskerøgeri__Søn__Zürich_Nord_2026-03.csv');
  });
});

describe('bad input', () => {
  it('names every bad field with its reason and changes nothing', async () => {
    const before = await count('billing_snapshots');
    const res = await post({
      ...makeBill({ company_account_number: '940001' }),
      billing_month: 13,
      billing_year: 'abc',
      company_account_number: 'ACME',
      invoice_date: '2026-02-30',
      line_items: [{ line_type: 'fee', item_name: 'x', quantity: 1, rate: 1, amount: 'lots' }],
    });
    const body = await res.json();
    expect(res.status).toBe(400);
    expect(body.code).toBe('validation_failed');
    const fields = Object.fromEntries(body.details.fields.map((f: any) => [f.field, f.reason]));
    expect(fields).toMatchObject({
      billing_month: 'must be 1 to 12',
      billing_year: 'must be a number',
      company_account_number: 'must be a string of 1 to 50 digits',
      invoice_date: 'must be a date written YYYY-MM-DD',
      'line_items[0].line_type': 'must be one of user, asset, backup, ticket, custom',
      'line_items[0].amount': 'must be a decimal number',
    });
    expect(body.error).toMatch(/^Invalid snapshot: /);
    expect(await count('billing_snapshots')).toBe(before);
  });

  it('says which required field is missing', async () => {
    const { invoice_csv: _csv, billing_data_json: _data, ...rest } = makeBill({ company_account_number: '940002' });
    const body = await (await post(rest)).json();
    expect(body.details.fields).toEqual([
      { field: 'billing_data_json', reason: 'is required' },
      { field: 'invoice_csv', reason: 'is required' },
    ]);
  });

  it('refuses a body that is not a JSON object', async () => {
    const bad = await postRaw('{"company_account_number": ');
    expect(bad.status).toBe(400);
    expect((await bad.json()).code).toBe('invalid_json');
    const array = await postRaw('[1,2]');
    expect(array.status).toBe(400);
    expect((await array.json()).details.fields).toEqual([{ field: '(body)', reason: 'must be a JSON object' }]);
    const res = await postRaw('company=1', { 'Content-Type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
    expect((await res.json()).code).toBe('unsupported_media_type');
  });

  it('answers 413 for a body over the limit', async () => {
    const huge = JSON.stringify(makeBill({ company_account_number: '940003', notes: 'x'.repeat(11 * 1024 * 1024) }));
    const res = await postRaw(huge);
    expect(res.status).toBe(413);
    expect((await res.json()).code).toBe('payload_too_large');
  });

  it('rejects a line item with a non-finite or enormous amount', async () => {
    const res = await post(makeBill({ company_account_number: '940004', line_items: [{ line_type: 'user', item_name: 'a', quantity: 1, rate: 1, amount: 1e12 }] }));
    expect(res.status).toBe(400);
    expect((await res.json()).details.fields).toContainEqual({ field: 'line_items[0].amount', reason: 'must be at most 9999999999.99 in magnitude' });
  });
});

describe('authentication', () => {
  it('401 without a token, JSON', async () => {
    const res = await server.api('/api/snapshot', { method: 'POST', json: makeBill(), token: null });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await res.json()).toMatchObject({ code: 'unauthorized', error: expect.stringMatching(/Authorization: Bearer/) });
  });

  it('401 with a wrong token', async () => {
    const res = await server.api('/api/snapshots/search', { token: 'nope-nope-nope-nope-nope-nope' });
    expect(res.status).toBe(401);
    expect((await res.json()).error).toMatch(/not valid/);
  });

  it('the admin token may post too', async () => {
    expect((await post(makeBill({ company_account_number: '950001' }), ADMIN_TOKEN)).status).toBe(201);
  });

  it('unknown routes and methods are JSON errors', async () => {
    const res = await server.api('/api/nothing');
    expect(res.status).toBe(404);
    expect((await res.json()).code).toBe('not_found');
    const res2 = await server.api('/api/snapshot/950001-202603', { method: 'DELETE' });
    expect(res2.status).toBe(405);
    expect((await res2.json()).code).toBe('method_not_allowed');
    const res3 = await server.api('/api/snapshot/does-not-exist');
    expect(res3.status).toBe(404);
    expect((await res3.json()).error).toMatch(/No archived bill with invoice number does-not-exist/);
  });
});

describe('the running count', () => {
  it('equals count(*) after everything above, concurrent posts included', async () => {
    const counter = await server.database.knex('archive_counters').where('name', 'billing_snapshots').sum('value as n').first();
    expect(Number(counter!.n)).toBe(await count('billing_snapshots'));
    const stats = await (await server.api('/api/stats')).json();
    expect(stats.snapshots).toBe(await count('billing_snapshots'));
    const all = await (await server.api('/api/snapshots/search?limit=1')).json();
    expect(all.total).toBe(await count('billing_snapshots'));
  });
});
