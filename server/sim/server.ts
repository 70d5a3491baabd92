/**
 * A simulator of Codex and Ledger for tests, the demo and the benchmark: the endpoints
 * Archive calls (docs/contract.md section 2), with their status codes and error bodies, over
 * generated companies and, optionally, the real fixtures in test/fixtures/ledger.
 * Switches (also at run time, `POST /_sim/settings`): latency, an error rate, timeouts,
 * permanently failing companies, Codex down, and companies whose bill changed after it was
 * archived. Fault decisions are deterministic per company and attempt, so a seeded test
 * sees the same faults whatever the interleaving.
 * Over 300 lines on purpose: both peers, their faults and switches in one place, so the
 * simulator's behaviour can be read (and changed) as one piece.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { BillingAnswer } from '../peers/ledger-bill';
import type { CodexCompany } from '../peers/clients';
import { rng, simBilling, simCompany, type SimCompany } from './generate';
import { invoiceNumberFor, periodText } from '../../shared/period';

export interface SimSettings {
  /** Added to every Ledger and Codex answer. */
  latencyMs: number;
  /** Share of Ledger billing calls answered 503 (0..1). */
  errorRate: number;
  /** Share of Ledger billing calls that hang for `timeoutHoldMs` before answering. */
  timeoutRate: number;
  timeoutHoldMs: number;
  /** Accounts whose billing always fails with 500 (a company Ledger cannot bill). */
  failingAccounts: string[];
  /** Accounts whose bill gained a late adjustment after it was archived. */
  changedAccounts: string[];
  /** Codex answers 503 to everything. */
  codexDown: boolean;
  /**
   * A hostile Ledger: these accounts' billing answers carry a NUL or a lone surrogate in a
   * name (text PostgreSQL cannot store exactly), or are padded to `hugeBytes` (an oversized answer).
   */
  hostileAccounts: Record<string, 'nul' | 'surrogate' | 'huge'>;
  hugeBytes: number;
  /**
   * Codex also lists odd entries: 60-digit account numbers (two sharing their first 47 digits),
   * a name that is not text, an account number with a NUL, and an entry that is not an object.
   */
  oddCodexEntries: boolean;
  /** Codex's answer about one company (`GET api/companies/<acct>`) is a 400, not JSON, or oversized. */
  codexOddAnswers: Record<string, '400' | 'not_json' | 'huge'>;
}

export interface SimOptions extends Partial<SimSettings> {
  seed?: string;
  /** How many generated companies Codex lists. */
  companies?: number;
  /** Also serve the real Ledger fixtures (folder with companies.json, billing/, codex/, index.json). */
  fixturesDir?: string;
  /** When set, Ledger and Codex accept only this bearer token. */
  token?: string;
  host?: string;
  codexPort?: number;
  ledgerPort?: number;
}

export interface Simulator {
  codexUrl: string;
  ledgerUrl: string;
  settings: SimSettings;
  /** Ledger billing requests per account (every attempt counts). */
  billingRequests: Map<string, number>;
  /** Every account Codex lists (generated and fixtures). */
  accounts(): string[];
  company(account: string): CodexCompany | undefined;
  /** The billing answer Ledger would give now (null: no bill). */
  billing(account: string, year: number, month: number): BillingAnswer | null;
  close(): Promise<void>;
}

interface FixtureSet {
  companies: CodexCompany[];
  companyBodies: Map<string, string>;
  billing: Map<string, { status: number; body: string }>;
}

const ADJUSTMENT = 42.5;

export async function startSimulator(opts: SimOptions = {}): Promise<Simulator> {
  const seed = opts.seed ?? 'archive-sim';
  const settings: SimSettings = {
    latencyMs: opts.latencyMs ?? 0,
    errorRate: opts.errorRate ?? 0,
    timeoutRate: opts.timeoutRate ?? 0,
    timeoutHoldMs: opts.timeoutHoldMs ?? 60_000,
    failingAccounts: opts.failingAccounts ?? [],
    changedAccounts: opts.changedAccounts ?? [],
    codexDown: opts.codexDown ?? false,
    hostileAccounts: opts.hostileAccounts ?? {},
    hugeBytes: opts.hugeBytes ?? 12 * 1024 * 1024,
    oddCodexEntries: opts.oddCodexEntries ?? false,
    codexOddAnswers: opts.codexOddAnswers ?? {},
  };
  const generated: SimCompany[] = Array.from({ length: opts.companies ?? 50 }, (_, i) => simCompany(seed, i));
  const byAccount = new Map(generated.map((c) => [c.codex.account_number!, c]));
  const fixtures = opts.fixturesDir ? loadFixtures(opts.fixturesDir) : undefined;
  // A Codex entry without an account number (a prospect), as real Codex lists them.
  const prospect: CodexCompany = { account_number: null, billing_plan: null, description: 'Prospect, not yet a customer', name: 'Orchard Bakery (prospect)' };
  const codexList = JSON.stringify([...generated.map((c) => c.codex), ...(fixtures?.companies ?? []), prospect]);
  const oddEntries: unknown[] = [
    { account_number: '1'.repeat(60), name: 'Sixty Digits Ltd', billing_plan: 'Basic' },
    { account_number: `${'1'.repeat(59)}2`, name: 'Sixty Digits Too Ltd', billing_plan: 'Basic' },
    { account_number: '777000001', name: 12345, billing_plan: 'Basic' },
    { account_number: '77700\u00002', name: 'Null Byte Account Ltd', billing_plan: 'Basic' },
    null,
  ];
  const codexListNow = () => (settings.oddCodexEntries ? JSON.stringify([...JSON.parse(codexList), ...oddEntries]) : codexList);

  /** A hostile Ledger's answer: the same bill with text no database stores exactly, or padded past any sane size. */
  const hostile = (account: string, b: { status: number; body: string }): { status: number; body: string } => {
    const kind = settings.hostileAccounts[account];
    if (!kind || b.status !== 200) return b;
    const a = JSON.parse(b.body) as BillingAnswer;
    if (kind === 'huge') return { status: 200, body: JSON.stringify({ ...a, padding: 'x'.repeat(settings.hugeBytes) }) };
    const bad = kind === 'nul' ? 'Null\u0000Byte' : 'Lone\ud800Surrogate';
    const users = a.receipt.billed_users;
    if (users.length > 0) users[0] = { ...users[0], name: bad };
    else a.company_name = bad;
    return { status: 200, body: JSON.stringify(a) };
  };
  const billingRequests = new Map<string, number>();
  const pending = new Set<NodeJS.Timeout>();

  const billingBody = (account: string, year: number, month: number): { status: number; body: string } => {
    const key = invoiceNumberFor(account, year, month);
    const fixture = fixtures?.billing.get(key);
    if (fixture) return fixture;
    if (fixtures?.companyBodies.has(account)) return { status: 404, body: JSON.stringify({ error: `No billing data for ${periodText(year, month)}` }) };
    const company = byAccount.get(account);
    if (!company) return { status: 404, body: JSON.stringify({ error: 'Company not found' }) };
    const changed = settings.changedAccounts.includes(account);
    // Bills are deterministic, so each is generated once (keeps the simulator cheap in benchmarks).
    const cacheKey = `${key}/${changed}`;
    let hit = cache.get(cacheKey);
    if (!hit) {
      const answer = simBilling(seed, company, year, month, changed ? ADJUSTMENT : 0);
      hit = answer ? { status: 200, body: JSON.stringify(answer) } : { status: 404, body: JSON.stringify({ error: 'No billing plan configured for this company' }) };
      if (cache.size > 50_000) cache.clear();
      cache.set(cacheKey, hit);
    }
    return hit;
  };
  const cache = new Map<string, { status: number; body: string }>();

  const authorised = (req: http.IncomingMessage) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    return m !== null && (opts.token === undefined || m[1] === opts.token);
  };

  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0) return resolve();
      const t = setTimeout(() => {
        pending.delete(t);
        resolve();
      }, ms);
      pending.add(t);
    });

  const send = (res: http.ServerResponse, status: number, body: string) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };

  const control = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<boolean> => {
    if (url.pathname !== '/_sim/settings') return false;
    if (req.method === 'POST') {
      let text = '';
      for await (const chunk of req) text += chunk;
      try {
        Object.assign(settings, pickSettings(JSON.parse(text)));
      } catch (err) {
        send(res, 400, JSON.stringify({ error: `Invalid settings: ${(err as Error).message}` }));
        return true;
      }
    }
    send(res, 200, JSON.stringify(settings));
    return true;
  };

  /**
   * A peer's endpoint with the configured latency as the whole call's time, as a caller sees a
   * real service: the answer is worked out while the clock runs and sent when the latency is up
   * (or later, if working it out took longer).
   */
  const endpoint = (answer: (req: http.IncomingMessage, url: URL) => Promise<[number, string]> | [number, string]) =>
    http.createServer(async (req, res) => {
      const due = performance.now() + settings.latencyMs;
      const url = new URL(req.url ?? '/', 'http://sim');
      if (await control(req, res, url)) return;
      const [status, body] = await answer(req, url);
      await delay(due - performance.now());
      send(res, status, body);
    });
  const json = (status: number, body: unknown): [number, string] => [status, JSON.stringify(body)];

  const codex = endpoint((req, url) => {
    if (url.pathname === '/health') return json(200, { status: 'healthy', timestamp: new Date().toISOString() });
    if (!url.pathname.startsWith('/api/')) return json(404, { error: 'Not found' });
    if (!authorised(req)) return json(401, { error: 'Authentication required' });
    if (settings.codexDown) return json(503, { error: 'Codex is down for maintenance' });
    if (req.method === 'GET' && url.pathname === '/api/companies') return [200, codexListNow()];
    const m = /^\/api\/companies\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && m) {
      const account = decodeURIComponent(m[1]);
      const odd = settings.codexOddAnswers[account];
      if (odd === '400') return json(400, { error: 'Invalid account number format' });
      if (odd === 'not_json') return [200, '<html>maintenance</html>'];
      if (odd === 'huge') return [200, JSON.stringify({ account_number: account, name: 'Huge', padding: 'x'.repeat(settings.hugeBytes) })];
      const body = fixtures?.companyBodies.get(account) ?? (byAccount.has(account) ? JSON.stringify(byAccount.get(account)!.codex) : undefined);
      return body ? [200, body] : json(404, { error: 'Company not found' });
    }
    return json(404, { error: 'Not found' });
  });

  const ledger = endpoint(async (req, url) => {
    if (url.pathname === '/health') return json(200, { status: 'healthy', service: 'ledger' });
    if (!url.pathname.startsWith('/api/')) return json(404, { error: 'Not found' });
    if (!authorised(req)) return json(401, { error: 'Authentication required' });
    if (url.pathname === '/api/bill/accept') return json(403, { error: 'This endpoint is for logged-in users; service callers are refused' });
    const m = /^\/api\/(billing|invoice)\/([^/]+)(\/summary)?$/.exec(url.pathname);
    if (req.method !== 'GET' || !m || (m[1] === 'invoice') !== Boolean(m[3])) return json(404, { error: 'Not found' });
    const account = decodeURIComponent(m[2]);
    const year = Number(url.searchParams.get('year'));
    const month = Number(url.searchParams.get('month'));
    if (!Number.isInteger(year) || !Number.isInteger(month) || month < 1 || month > 12) return json(400, { error: 'year and month are required' });
    if (m[1] === 'invoice') return summary(billingBody(account, year, month), account, year, month);

    const n = (billingRequests.get(account) ?? 0) + 1;
    billingRequests.set(account, n);
    const roll = rng(`${seed}/fault/${account}/${year}-${month}/${n}`)();
    if (settings.failingAccounts.includes(account)) return json(500, { error: 'Unable to calculate billing. Check plan configuration.' });
    if (roll < settings.errorRate) return json(503, { error: 'Simulated failure: Ledger is overloaded' });
    if (roll < settings.errorRate + settings.timeoutRate) await delay(settings.timeoutHoldMs);
    const { status, body } = hostile(account, billingBody(account, year, month));
    return [status, body];
  });

  const host = opts.host ?? '127.0.0.1';
  const listen = (server: http.Server, port: number) =>
    new Promise<string>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve(`http://${host}:${(server.address() as AddressInfo).port}`));
    });
  const codexUrl = await listen(codex, opts.codexPort ?? 0);
  const ledgerUrl = await listen(ledger, opts.ledgerPort ?? 0);

  return {
    codexUrl,
    ledgerUrl,
    settings,
    billingRequests,
    accounts: () => [...generated.map((c) => c.codex.account_number!), ...(fixtures?.companies.map((c) => c.account_number!).filter(Boolean) ?? [])],
    company: (account) => byAccount.get(account)?.codex ?? fixtures?.companies.find((c) => c.account_number === account),
    billing: (account, year, month) => {
      const b = billingBody(account, year, month);
      return b.status === 200 ? (JSON.parse(b.body) as BillingAnswer) : null;
    },
    close: async () => {
      for (const t of pending) clearTimeout(t);
      for (const s of [codex, ledger]) s.closeAllConnections();
      await Promise.all([codex, ledger].map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
}

function summary(b: { status: number; body: string }, account: string, year: number, month: number): [number, string] {
  if (b.status !== 200) return [b.status, b.body];
  const a = JSON.parse(b.body) as BillingAnswer;
  const r = a.receipt;
  const lines =
    r.billed_users.filter((u) => u.cost > 0).length + r.billed_assets.filter((x) => x.cost > 0).length + r.billed_line_items.length + (r.backup_charge > 0 ? 1 : 0) + (r.billable_hours > 0 ? 1 : 0);
  return [
    200,
    JSON.stringify({
      invoice_number: invoiceNumberFor(account, year, month),
      company_name: a.company_name,
      total_amount: r.total,
      user_count: r.billed_users.filter((u) => u.cost > 0).length,
      asset_count: r.billed_assets.filter((x) => x.cost > 0).length,
      line_item_count: r.billed_line_items.length,
      has_backup_charges: r.backup_charge > 0,
      has_hourly_charges: r.billable_hours > 0,
      total_lines: lines,
      is_archived: false,
    }),
  ];
}

function pickSettings(input: unknown): Partial<SimSettings> {
  if (!input || typeof input !== 'object') throw new Error('expected a JSON object');
  const out: Partial<SimSettings> = {};
  for (const [k, v] of Object.entries(input)) {
    if (['latencyMs', 'errorRate', 'timeoutRate', 'timeoutHoldMs'].includes(k) && typeof v === 'number' && v >= 0) (out as Record<string, unknown>)[k] = v;
    else if (['failingAccounts', 'changedAccounts'].includes(k) && Array.isArray(v) && v.every((x) => typeof x === 'string')) (out as Record<string, unknown>)[k] = v;
    else if ((k === 'codexDown' || k === 'oddCodexEntries') && typeof v === 'boolean') (out as Record<string, unknown>)[k] = v;
    else if (k === 'hugeBytes' && typeof v === 'number' && v >= 0) out.hugeBytes = v;
    else if (k === 'codexOddAnswers' && v && typeof v === 'object' && Object.values(v).every((x) => ['400', 'not_json', 'huge'].includes(x as string)))
      out.codexOddAnswers = v as SimSettings['codexOddAnswers'];
    else if (k === 'hostileAccounts' && v && typeof v === 'object' && Object.values(v).every((x) => ['nul', 'surrogate', 'huge'].includes(x as string)))
      out.hostileAccounts = v as SimSettings['hostileAccounts'];
    else throw new Error(`unknown or malformed setting ${k}`);
  }
  return out;
}

function loadFixtures(dir: string): FixtureSet {
  const companies = JSON.parse(fs.readFileSync(path.join(dir, 'companies.json'), 'utf8')) as CodexCompany[];
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { account_number: string; year: number; month: number; billing_status: number; billing_file: string }[];
  const companyBodies = new Map<string, string>();
  for (const c of companies) {
    const file = path.join(dir, 'codex', c.account_number!, 'company.json');
    if (fs.existsSync(file)) companyBodies.set(c.account_number!, fs.readFileSync(file, 'utf8'));
  }
  const billing = new Map<string, { status: number; body: string }>();
  for (const e of index) {
    billing.set(invoiceNumberFor(e.account_number, e.year, e.month), { status: e.billing_status, body: fs.readFileSync(path.join(dir, e.billing_file), 'utf8') });
  }
  return { companies, companyBodies, billing };
}
