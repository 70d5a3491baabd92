/**
 * Only what can be stored exactly is accepted: each refusal is a 400 (or 422) naming the
 * field, and leaves nothing behind. Logs never carry a request body.
 */
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBill } from '../helpers/fixtures';
import { scheduledSnapshots } from '../../server/cli/scheduled-snapshots';
import { ADMIN_TOKEN, startTestServer, testConfig, type TestServer } from '../helpers/server';

const logLines: string[] = [];
let server: TestServer;
beforeAll(async () => {
  const sink = new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) });
  const log = pino({ level: 'info' }, sink);
  server = await startTestServer({ SCHEDULER: 'off' }, { log });
});
afterAll(async () => {
  await server?.stop();
});

let n = 0;
const bill = (overrides: Record<string, unknown> = {}) => {
  n++;
  const account = String(700000 + n);
  return makeBill({ company_account_number: account, invoice_number: `${account}-202603`, ...overrides });
};
const postText = (text: string | Buffer, headers: Record<string, string> = {}) =>
  server.api('/api/snapshot', { method: 'POST', body: text as BodyInit, headers: { 'Content-Type': 'application/json', ...headers } });
const count = async () => Number((await server.database.knex('billing_snapshots').count('* as n').first())!.n);

async function refused(res: Response, status: number, field?: string | RegExp) {
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(status);
  if (field !== undefined) {
    const fields = (body.details?.fields ?? [{ field: body.details?.field }]).map((f: { field: string }) => f.field);
    expect(
      fields.some((f: string) => (typeof field === 'string' ? f === field : field.test(f))),
      JSON.stringify(body),
    ).toBe(true);
  }
  return body;
}

describe('an empty post', () => {
  it.each([[''], ['   \n']])('is refused as having no body (%j), not as eight missing fields', async (text) => {
    const before = await count();
    const res = await postText(text);
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body).toMatchObject({ code: 'empty_body' });
    expect(body.error).toMatch(/has no body/);
    expect(await count()).toBe(before);
  });
});

describe('text PostgreSQL could not store exactly', () => {
  it.each([
    ['a NUL in company_name', { company_name: 'A\u0000B' }, 'company_name'],
    ['a lone high surrogate in notes', { notes: 'x\ud800y' }, 'notes'],
    ['a lone low surrogate in the CSV', { invoice_csv: '\udc00' }, 'invoice_csv'],
    ['a NUL deep inside billing_data_json', { billing_data_json: { receipt: { billed_users: [{ name: 'a\u0000' }] } } }, 'billing_data_json.receipt.billed_users[0].name'],
    ['a lone surrogate in a key of billing_data_json', { billing_data_json: { ['k\ud800']: 1 } }, /billing_data_json \(a key\)/],
  ])('refuses %s', async (_what, overrides, field) => {
    const before = await count();
    await refused(await postText(JSON.stringify(bill(overrides))), 400, field);
    expect(await count()).toBe(before);
  });

  it('refuses a NUL in a line item name', async () => {
    const b = bill();
    b.line_items[1].item_name = 'Bo\u0000b';
    await refused(await postText(JSON.stringify(b)), 400, 'line_items[1].item_name');
  });

  it('keeps astral characters and other Unicode exactly', async () => {
    const b = bill({ company_name: 'Zoë 😀 Søn', notes: '\u202eright-to-left' });
    expect((await postText(JSON.stringify(b))).status).toBe(201);
    const got = await (await server.api(`/api/snapshot/${b.invoice_number}`)).json();
    expect(got.company_name).toBe('Zoë 😀 Søn');
    expect(got.notes).toBe('\u202eright-to-left');
  });
});

describe('numbers beyond what is stored exactly', () => {
  it('refuses an integer beyond the column', async () => {
    await refused(await postText(JSON.stringify(bill({ user_count: 2 ** 31 }))), 400, 'user_count');
  });

  it('refuses non-finite numbers anywhere, and numbers beyond 2^53', async () => {
    const text = JSON.stringify(bill()).replace('"receipt":{', '"receipt":{"x":1e400,');
    await refused(await postText(text), 400, 'billing_data_json.receipt.x');
    await refused(await postText(JSON.stringify(bill({ billing_data_json: { id: 2 ** 60 } }))), 400, 'billing_data_json.id');
  });

  it('refuses an amount beyond its column, also one that rounding would carry past it', async () => {
    for (const total of ['9999999999.995', 9999999999.995, '10000000000']) {
      await refused(await postText(JSON.stringify(bill({ total_amount: total, total_user_charges: null }))), 400, 'total_amount');
    }
  });

  it('refuses nesting deeper than the limit, naming where', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { d: deep };
    const body = await refused(await postText(JSON.stringify(bill({ billing_data_json: { deep } }))), 400);
    expect(body.error).toMatch(/nests deeper than 32 levels/);
  });
});

describe('invoice numbers', () => {
  it.each(['.', '..', 'a/b', 'é-1', ' 1', '-x', 'a'.repeat(51), ''])('refuses %j', async (invoice) => {
    await refused(await postText(JSON.stringify(bill({ invoice_number: invoice }))), 400, 'invoice_number');
  });

  it('refuses an invoice number outside the rule in a path with a 400 naming it (not a lookup that finds nothing)', async () => {
    for (const p of ['/api/snapshot/%00', '/api/snapshot/%ED%A0%80/csv', '/api/snapshot/..%2F/raw']) {
      const res = await server.api(p);
      expect(res.status, p).toBe(400);
      expect((await res.json()).details.fields[0].field).toBe('invoice_number');
    }
  });

  it('refuses NUL in a search parameter', async () => {
    const res = await server.api('/api/snapshots/search?company=%00');
    expect(res.status).toBe(400);
    expect((await res.json()).details.fields[0].field).toBe('company');
  });
});

describe('bodies', () => {
  it('answers a "__proto__" key with a clean 400 and logs no body', async () => {
    const b = bill({ company_name: 'SECRET-COMPANY-NAME' });
    for (const text of [JSON.stringify(b).replace('{', '{"__proto__":{"x":1},'), JSON.stringify(b).replace('"receipt"', '"__proto__":{"x":1},"receipt"')]) {
      const before = await count();
      const res = await refused(await postText(text), 400);
      expect(res.error).toMatch(/__proto__/);
      expect(await count()).toBe(before);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(logLines.join('')).not.toContain('SECRET-COMPANY-NAME');
  });

  it('refuses a corrupt compressed body with 400 and takes a good one', async () => {
    const good = Buffer.from(JSON.stringify(bill()));
    const gz = gzipSync(good);
    await refused(await postText(Buffer.concat([gz.subarray(0, 20), Buffer.from('garbage')]), { 'Content-Encoding': 'gzip' }), 400);
    await refused(await postText(Buffer.from('not brotli at all'), { 'Content-Encoding': 'br' }), 400);
    expect((await postText(gz, { 'Content-Encoding': 'gzip' })).status).toBe(201);
    expect(logLines.join('')).not.toContain('Test Co');
  });
});

describe('category totals', () => {
  it('refuses a category total that disagrees with its own line items, naming the category and both sums', async () => {
    const lines = [
      { line_type: 'user', item_name: 'Ada', description: 'User', quantity: 1, rate: 100, amount: 100 },
      { line_type: 'asset', item_name: 'PC', description: 'Asset', quantity: 1, rate: 50, amount: 50 },
    ];
    // The grand total and the sum of the categories agree (150); the users and assets do not.
    const b = bill({ line_items: lines, total_amount: 150, total_user_charges: 120, total_asset_charges: 30 });
    const before = await count();
    const body = await refused(await postText(JSON.stringify(b)), 422, 'total_user_charges');
    expect(body.code).toBe('totals_mismatch');
    expect(body.details).toMatchObject({ category: 'user', expected: '120.00', actual: '100.00' });
    expect(body.error).toMatch(/user line items add up to 100\.00, but total_user_charges is 120\.00/);
    expect(await count()).toBe(before);
  });

  it('takes a rounding cent within the tolerance', async () => {
    const lines = [{ line_type: 'user', item_name: 'Ada', description: 'User', quantity: 1, rate: 100, amount: 100 }];
    const res = await postText(JSON.stringify(bill({ line_items: lines, total_amount: 100, total_user_charges: 100.01 })));
    expect(res.status).toBe(201);
  });
});

describe('the schedule time zone', () => {
  const config = (json: unknown) => server.api('/api/scheduler/config', { method: 'POST', json, token: ADMIN_TOKEN });

  it('refuses an empty or unknown zone and keeps the schedule working', async () => {
    for (const timezone of ['', ' ', 'Not/AZone']) {
      const body = await refused(await config({ timezone }), 400, 'timezone');
      expect(body.code).toBe('validation_failed');
    }
    expect((await server.api('/api/scheduler/config', { token: ADMIN_TOKEN })).status).toBe(200);
    expect((await config({ timezone: 'Europe/Berlin' })).status).toBe(200);
    expect((await config({ timezone: null })).status).toBe(200);
  });

  it('is refused by the database when written with SQL', async () => {
    for (const tz of ['', 'Not/AZone']) {
      await expect(server.database.knex('scheduled_snapshots').where({ id: 1 }).update({ timezone: tz })).rejects.toThrow(/timezone/);
    }
    await server.database.knex('scheduled_snapshots').where({ id: 1 }).update({ timezone: 'America/New_York' });
  });

  it('reports in words a zone PostgreSQL takes but this server cannot use, everywhere the schedule is read', async () => {
    await server.database.knex('scheduled_snapshots').where({ id: 1 }).update({ timezone: 'UTC+5' });
    try {
      const res = await server.api('/api/scheduler/config', { token: ADMIN_TOKEN });
      expect(res.status).toBe(409);
      const body = await res.json();
      expect(body.code).toBe('invalid_state');
      expect(body.error).toMatch(/time zone "UTC\+5" is not a time zone this server knows/);
      // The timer's CLI says the same, without a stack trace.
      const lines: string[] = [];
      const code = await scheduledSnapshots(testConfig({ DATABASE_URL: server.database.url }), { all: false, dryRun: false }, (l) => lines.push(l));
      expect(code).toBe(1);
      expect(lines.join('\n')).toMatch(/✗ The schedule's time zone "UTC\+5"/);
      expect(lines.join('\n')).not.toMatch(/\n\s+at /);
      // And it can be mended through the API.
      expect((await config({ timezone: 'Europe/Berlin' })).status).toBe(200);
    } finally {
      await server.database.knex('scheduled_snapshots').where({ id: 1 }).update({ timezone: null });
    }
  });
});
