/**
 * A seeded fuzz of 10,000 bad and borderline requests: bill posts (text PostgreSQL cannot
 * store, numbers beyond the columns, deep nesting, odd invoice numbers, prototype keys,
 * broken and compressed bodies, wrong totals), searches, path parameters, scheduler
 * configurations and run requests. Not one answer is a 5xx, no refused input leaves a row,
 * and every accepted bill re-hashes to its content_hash from the API's own answer.
 * Over 300 lines: the generators of each kind of input stand beside the one test that uses them.
 */
import { createHash } from 'node:crypto';
import { gzipSync, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalSnapshot } from '../../shared/canonical';
import type { SnapshotDetail } from '../../shared/api';
import { SEARCH_KEYS } from '../../shared/api-calls';
import { createLogger } from '../../server/log';
import { makeBill } from '../helpers/fixtures';
import { ADMIN_TOKEN, SERVICE_TOKEN, startTestServer, type TestServer } from '../helpers/server';

/** FUZZ_LOG=1 shows the server's error lines, to find what a 5xx came from. */
let server: TestServer;
beforeAll(async () => {
  // Peers that are not there and no retries: a run the fuzz starts fails fast, on its own.
  server = await startTestServer(
    { SCHEDULER: 'off', PEER_RETRIES: '0', CODEX_URL: 'http://127.0.0.1:9', LEDGER_URL: 'http://127.0.0.1:9' },
    process.env.FUZZ_LOG ? { log: createLogger('error') } : {},
  );
});
afterAll(async () => {
  await server?.stop();
});

/** mulberry32: the same 10,000 inputs on every run. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] };
}
const rnd = prng(20261201);

interface Case {
  kind: string;
  method: string;
  path: string;
  token?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

const NASTY_TEXT = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '\udc00\ud800',
  '😀'.slice(0, 1),
  'ok',
  'Zoë & Søn',
  '😀',
  '',
  ' ',
  '\u202e',
  '%00',
  "'; DROP TABLE billing_snapshots; --",
  'a'.repeat(300),
];
const NASTY_NUMBERS = [
  '1e400',
  '-1e400',
  '1e308',
  '9007199254740993',
  '2147483648',
  '-1',
  '-0',
  '0.1',
  '1e-400',
  '9999999999.995',
  '99999999.995',
  '10000000000',
  '1.5',
  '12345678901234567890123',
  '0',
];
const NASTY_INVOICES = ['.', '..', 'a/b', 'a\\b', '%2e%2e', 'é-1', ' 1', '1 ', 'a'.repeat(51), '', '-1', '_x', 'a?b', 'a#b', 'x\u0000', 'x\ud800', 'CON', 'a.b', 'A-1_2.3'];
const TEXT_FIELDS = ['company_name', 'billing_plan', 'contract_term', 'support_level', 'created_by', 'notes', 'invoice_csv'];
const MONEY_FIELDS = ['total_amount', 'total_user_charges', 'total_asset_charges', 'total_backup_charges', 'total_ticket_charges', 'total_line_item_charges', 'billable_hours'];

let serial = 0;
/** A valid bill with its own company, period and invoice number. */
function freshBill(): Record<string, any> {
  serial++;
  const account = String(800000 + serial);
  return makeBill({ company_account_number: account, invoice_number: `${account}-202603` });
}

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = rnd.next() < 0.5 ? [v] : { k: v };
  return v;
}

/** Replaces the JSON text of a number placeholder, so numbers JSON.stringify cannot write (1e400) reach the server. */
const NUM = (text: string) => `@@NUM(${text})@@`;
const toText = (v: unknown) => JSON.stringify(v).replace(/"@@NUM\(([^)]*)\)@@"/g, '$1');

function postCase(): Case {
  const b = freshBill();
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const r = rnd.int(17);
  let body: string | Buffer;
  switch (r) {
    case 0:
      b[rnd.pick(TEXT_FIELDS)] = rnd.pick(NASTY_TEXT);
      break;
    case 1: {
      const li = b.line_items[rnd.int(b.line_items.length)];
      li[rnd.pick(['item_name', 'description'])] = rnd.pick(NASTY_TEXT);
      break;
    }
    case 2:
      b.billing_data_json = { ...b.billing_data_json, [rnd.pick(['note', rnd.pick(NASTY_TEXT)])]: rnd.pick(NASTY_TEXT), deep: { list: [rnd.pick(NASTY_TEXT)] } };
      break;
    case 3:
      b[rnd.pick(['user_count', 'asset_count', 'billing_year', 'billing_month'])] = NUM(rnd.pick(NASTY_NUMBERS));
      break;
    case 4:
      b[rnd.pick(MONEY_FIELDS)] = rnd.next() < 0.5 ? NUM(rnd.pick(NASTY_NUMBERS)) : rnd.pick(NASTY_NUMBERS);
      break;
    case 5: {
      const li = b.line_items[rnd.int(b.line_items.length)];
      li[rnd.pick(['quantity', 'rate', 'amount'])] = rnd.next() < 0.5 ? NUM(rnd.pick(NASTY_NUMBERS)) : rnd.pick(NASTY_NUMBERS);
      break;
    }
    case 6:
      b.billing_data_json = { receipt: { n: NUM(rnd.pick(NASTY_NUMBERS)), list: [NUM(rnd.pick(NASTY_NUMBERS))] } };
      break;
    case 7:
      b.billing_data_json = { tree: nested(rnd.pick([5, 30, 31, 32, 33, 64, 2000])) };
      break;
    case 8:
      b.invoice_number = rnd.pick(NASTY_INVOICES);
      if (rnd.next() < 0.3) b.invoice_number += `-${serial}`;
      break;
    case 9: {
      const where = rnd.int(3);
      const raw = toText(b);
      const proto = '"__proto__":{"polluted":true},';
      body = where === 0 ? raw.replace('{', `{${proto}`) : where === 1 ? raw.replace('"billing_data_json":{', `"billing_data_json":{${proto}`) : raw.replace('"line_type"', `${proto}"line_type"`);
      if (rnd.next() < 0.3) body = body.replace('"__proto__"', '"constructor"');
      return { kind: 'post', method: 'POST', path: '/api/snapshot', headers, body };
    }
    case 10: {
      const enc = rnd.pick(['gzip', 'deflate', 'br', 'zstd', 'gzip']);
      const good = rnd.next() < 0.4;
      const raw = Buffer.from(toText(b));
      let data = enc === 'gzip' ? gzipSync(raw) : enc === 'deflate' ? deflateSync(raw) : raw;
      if (!good) data = Buffer.concat([data.subarray(0, Math.max(1, rnd.int(data.length))), Buffer.from('garbage')]);
      return { kind: 'post', method: 'POST', path: '/api/snapshot', headers: { ...headers, 'Content-Encoding': enc }, body: data };
    }
    case 11: {
      const raw = toText(b);
      body = rnd.pick([
        raw.slice(0, rnd.int(raw.length)),
        `\ufeff${raw}`,
        'null',
        '[]',
        '"x"',
        '123',
        '{',
        raw.replace(/:/, '::'),
        `${raw}${raw}`,
        raw.replace('"line_items":[', '"line_items":{').replace(/]}$/, '}}'),
      ]);
      return {
        kind: 'post',
        method: 'POST',
        path: '/api/snapshot',
        headers: rnd.next() < 0.2 ? { 'Content-Type': rnd.pick(['application/json; charset=latin1', 'application/json; charset=utf-16', 'text/plain']) } : headers,
        body,
      };
    }
    case 12:
      b.line_items[0].amount += rnd.pick([0.01, 0.06, 1, 1000]);
      break;
    case 13:
      b.total_user_charges = b.total_amount + rnd.pick([0.04, 0.06, 5]);
      break;
    case 14: {
      const field = rnd.pick([...TEXT_FIELDS, ...MONEY_FIELDS, 'line_items', 'billing_data_json', 'invoice_date', 'due_date', 'company_account_number']);
      b[field] = rnd.pick<unknown>([null, [], {}, true, 'x', 1, '2026-02-30', '99999-01-01', [1, 2]]);
      break;
    }
    case 16: {
      // The largest bill a column holds: many of them in one month must still add up (stats).
      const top = '9999999999.99';
      b.line_items = [{ line_type: 'custom', item_name: 'Everything', description: 'Everything', quantity: 1, rate: top, amount: top }];
      Object.assign(b, { total_amount: top, total_user_charges: null, total_line_item_charges: top });
      break;
    }
    default:
      // valid, or a duplicate of the previous bill
      if (rnd.next() < 0.3) serial--;
      break;
  }
  body = toText(b);
  return { kind: 'post', method: 'POST', path: '/api/snapshot', headers, body };
}

/** The search's own parameters, and names that are not (a prototype key, an unknown one). */
const QUERY_KEYS = [...SEARCH_KEYS, '__proto__', 'constructor', 'x'];
const QUERY_VALUES = [
  'US/Pacific-New',
  'Canada/East-Saskatchewan',
  'EST5EDT',
  'Etc/GMT+12',
  'UTC',
  '2026-03-01',
  '2026-12-31',
  '1',
  '620547',
  '2026',
  '13',
  '2026-13',
  '2026-01',
  '-1',
  '1e3',
  '100.5',
  '1,000',
  '%00',
  '%ED%A0%80',
  '%ZZ',
  "'",
  'Europe/Berlin',
  'Not/AZone',
  'total_amount',
  'desc',
  '1001',
  '99999999999999999999',
  '',
  'a%20b',
  '%F0%9F%98%80',
];

function searchCase(): Case {
  const parts: string[] = [];
  for (let i = rnd.int(4) + 1; i > 0; i--) parts.push(`${rnd.pick(QUERY_KEYS)}=${rnd.pick(QUERY_VALUES)}`);
  if (rnd.next() < 0.3) {
    // A well-formed date search in an odd zone.
    parts.length = 0;
    parts.push(
      `archived_from=${rnd.pick(['2026-01-01', '2026-12-01'])}`,
      `archived_to=${rnd.pick(['2026-12-31', '2027-01-31'])}`,
      `tz=${rnd.pick(['US/Pacific-New', 'Canada/East-Saskatchewan', 'EST5EDT', 'Etc/GMT+12', 'Asia/Kathmandu', 'UTC'])}`,
    );
  }
  const path = rnd.pick([
    '/api/snapshots/search',
    '/api/snapshots/search',
    '/api/snapshots/company/620547',
    '/api/stats',
    '/api/scheduler/jobs',
    `/api/scheduler/jobs/00000000-0000-4000-8000-000000000000`,
  ]);
  return { kind: 'search', method: 'GET', path: `${path}?${parts.join('&')}`, token: path.startsWith('/api/scheduler') || rnd.next() < 0.5 ? ADMIN_TOKEN : SERVICE_TOKEN };
}

const PATH_VALUES = [
  '620547-202601',
  '.',
  '..',
  '%2e%2e',
  '%00',
  '%ED%A0%80',
  '%ZZ',
  'a%2Fb',
  'é',
  '%C3%A9',
  'x'.repeat(300),
  '1',
  '-',
  '00000000-0000-4000-8000-000000000000',
  'not-a-uuid',
  '%F0%9F%98%80',
  "'",
];

function pathCase(): Case {
  const v = rnd.pick(PATH_VALUES);
  const [method, path] = rnd.pick([
    ['GET', `/api/snapshot/${v}`],
    ['GET', `/api/snapshot/${v}/csv`],
    ['GET', `/api/snapshot/${v}/raw`],
    ['GET', `/api/snapshot/${v}/pdf`],
    ['GET', `/api/snapshots/company/${v}`],
    ['GET', `/api/scheduler/jobs/${v}`],
    ['POST', `/api/runs/${v}/cancel`],
    ['POST', `/api/runs/${v}/resume`],
    ['GET', `/api/runs/${v}/events`],
  ] as const);
  return { kind: 'path', method, path, token: ADMIN_TOKEN };
}

function schedulerCase(): Case {
  const update: Record<string, unknown> = {};
  const fields: [string, unknown[]][] = [
    ['enabled', [true, false, 'yes', null, 1]],
    ['day_of_month', [1, 28, 29, 0, 'last', '15', '31', -1, 1.5, null, 'x']],
    ['hour', [0, 23, 24, -1, 1.5, '2', null]],
    ['timezone', ['Europe/Berlin', 'UTC', '', ' ', 'Not/AZone', null, 'x\u0000', '\ud800', 'a'.repeat(200), 5, 'US/Pacific-New', 'Canada/East-Saskatchewan', 'EST5EDT']],
    ['snapshot_previous_month', [true, false, 'no']],
    ['snapshot_all_companies', [true, false]],
    ['account_numbers', [[], ['620547'], ['x'], ['1'.repeat(60)], 'a', [1], null, ['620547', '620547']]],
    ['__proto__', [{ enabled: false }]],
    ['unknown', [1]],
  ];
  for (const [k, vs] of fields) if (rnd.next() < 0.35) update[k] = rnd.pick(vs);
  const raw = JSON.stringify(update).replace('"__proto___"', '"__proto__"');
  return { kind: 'scheduler', method: 'POST', path: '/api/scheduler/config', token: ADMIN_TOKEN, headers: { 'Content-Type': 'application/json' }, body: rnd.next() < 0.1 ? raw.slice(0, -1) : raw };
}

function runCase(): Case {
  const req: Record<string, unknown> = {};
  const fields: [string, unknown[]][] = [
    ['year', [2026, 2025, 1999, 2101, '2026', 2026.5, null]],
    ['month', [1, 10, 12, 0, 13, '1', null]],
    ['dry_run', [true, true, false, 'true', null]],
    ['accounts', [['620547'], [], ['x'], ['1'.repeat(60)], '620547', [620547]]],
    ['all', [true, false, 'x']],
    ['concurrency', [1, 64, 0, 65, 'x']],
    ['allow_open_period', [true, 'x']],
    ['reason', ['month-end check', '', '\u0000', 5]],
  ];
  if (rnd.next() < 0.4) {
    // A valid request with at most one field changed: runs start (and fail fast: no peers).
    Object.assign(req, { year: 2026, month: 1 + rnd.int(11), dry_run: rnd.next() < 0.5, ...(rnd.next() < 0.5 ? { accounts: ['620547'] } : {}) });
    if (rnd.next() < 0.5) {
      const [k, vs] = rnd.pick(fields);
      req[k] = rnd.pick(vs);
    }
  } else for (const [k, vs] of fields) if (rnd.next() < 0.5) req[k] = rnd.pick(vs);
  return { kind: 'run', method: 'POST', path: '/api/runs', token: ADMIN_TOKEN, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(req) };
}

function makeCases(n: number): Case[] {
  const cases: Case[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd.next();
    cases.push(r < 0.62 ? postCase() : r < 0.77 ? searchCase() : r < 0.88 ? pathCase() : r < 0.95 ? schedulerCase() : runCase());
  }
  return cases;
}

async function send(c: Case): Promise<{ status: number; text: string }> {
  const res = await server
    .api(c.path, { method: c.method, token: c.token ?? SERVICE_TOKEN, headers: c.headers, body: c.body as BodyInit | undefined })
    .catch((err) => ({ status: -1, text: async () => String(err) }) as unknown as Response);
  // The events stream of a running job stays open: the status is all we need.
  if (res.headers?.get?.('content-type')?.startsWith('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, text: '' };
  }
  return { status: res.status, text: await res.text() };
}

describe('a fuzz of 10,000 requests', () => {
  it('never answers 5xx, stores nothing it refused, and every stored bill re-hashes from its API answer', { timeout: 240_000 }, async () => {
    const cases = makeCases(10_000);
    const statuses = new Map<string, Map<number, number>>();
    const fiveHundreds: string[] = [];
    const accepted = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++];
        const { status, text } = await send(c);
        const byKind = statuses.get(c.kind) ?? new Map<number, number>();
        byKind.set(status, (byKind.get(status) ?? 0) + 1);
        statuses.set(c.kind, byKind);
        if (status >= 500 || status < 0) fiveHundreds.push(`${status} ${c.method} ${c.path} ${String(c.body ?? '').slice(0, 200)} -> ${text.slice(0, 300)}`);
        if (c.kind === 'post' && status === 201) accepted.add(JSON.parse(text).invoice_number);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const table = [...statuses]
      .map(
        ([k, m]) =>
          `${k}: ${[...m]
            .sort((a, b) => a[0] - b[0])
            .map(([s, n]) => `${s}x${n}`)
            .join(' ')}`,
      )
      .join('\n');
    console.log(`fuzz answers by kind and status:\n${table}`);
    expect(fiveHundreds.slice(0, 10)).toEqual([]);

    // Nothing stored that was refused: the archive holds exactly the accepted bills.
    const stored = await server.database.knex('billing_snapshots').pluck('invoice_number');
    expect(new Set(stored)).toEqual(accepted);
    const lines = await server.database.knex('snapshot_line_items').count('* as n').first();
    const expectedLines = await server.database.knex('billing_snapshots').sum('line_item_count as n').first();
    expect(Number(lines!.n)).toBe(Number(expectedLines!.n ?? 0));
    expect(accepted.size).toBeGreaterThan(500);
    // The figures still add up with many of the largest bills in one month.
    const stats = await server.api('/api/stats');
    expect(stats.status).toBe(200);
    expect(Number((await stats.json()).monthly_totals.find((m: { period: string }) => m.period === '2026-03')?.total)).toBeGreaterThan(1e12);

    // Every stored bill re-hashes to its content_hash from what the API serves.
    for (const invoice of accepted) {
      const res = await server.api(`/api/snapshot/${encodeURIComponent(invoice)}`);
      expect(res.status, invoice).toBe(200);
      const d = (await res.json()) as SnapshotDetail;
      const text = canonicalSnapshot(d as unknown as Record<string, unknown>, d.billing_data, d.line_items as unknown as Record<string, unknown>[]);
      expect(createHash('sha256').update(text, 'utf8').digest('hex'), invoice).toBe(d.content_hash);
    }
  });
});
