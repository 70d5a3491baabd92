/**
 * The Ledger + Codex simulator follows the contract, and our clients of both retry what
 * should be retried (network errors, timeouts, 5xx) and nothing else.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSnapshotFromBilling } from '../../server/peers/ledger-bill';
import { CodexClient, LedgerClient, type PeerSettings } from '../../server/peers/clients';
import { backoffDelay, PeerError } from '../../server/peers/request';
import { accountNumber, simBilling, simCompany } from '../../server/sim/generate';
import { startSimulator, type Simulator } from '../../server/sim/server';
import { prepareSnapshot } from '../../server/snapshots/archive';
import { SnapshotPost } from '../../shared/api';

const TOKEN = 'sim-token-0123456789abcdefghijkl';
let sim: Simulator;
let peers: PeerSettings;

beforeAll(async () => {
  sim = await startSimulator({ companies: 30, token: TOKEN, seed: 'peers' });
  peers = { codexUrl: sim.codexUrl, ledgerUrl: sim.ledgerUrl, codexToken: TOKEN, ledgerToken: TOKEN, timeoutMs: 500, retries: 2, backoffMs: 1, maxBytes: 10 * 1024 * 1024 };
});
afterAll(() => sim.close());

describe('answer size', () => {
  it('refuses an answer larger than the limit, by its Content-Length, without retrying', async () => {
    sim.settings.hostileAccounts = { [sim.accounts()[0]]: 'huge' };
    sim.settings.hugeBytes = 2 * 1024 * 1024;
    try {
      const err = await new LedgerClient({ ...peers, maxBytes: 1024 * 1024 }).billingText(sim.accounts()[0], 2026, 3).catch((e) => e);
      expect(err).toBeInstanceOf(PeerError);
      expect(err.kind).toBe('too_large');
      expect(err.attempts).toBe(1);
      expect(err.message).toMatch(/answer too large \(more than 1048576 bytes/);
    } finally {
      sim.settings.hostileAccounts = {};
    }
  });

  it('stops reading a chunked answer once it passes the limit', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = 'x'.repeat(64 * 1024);
      let sent = 0;
      const write = () => {
        while (sent < 200 && res.write(chunk)) sent++;
        if (sent < 200 && !res.destroyed) res.once('drain', write);
        else res.end();
      };
      write();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const err = await new LedgerClient({ ...peers, ledgerUrl: url, maxBytes: 256 * 1024 }).billingText('1', 2026, 3).catch((e) => e);
      expect(err.kind).toBe('too_large');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('simulated bills', () => {
  it('are deterministic per seed, account and month', () => {
    const c = simCompany('s', 7);
    expect(JSON.stringify(simBilling('s', c, 2026, 3))).toBe(JSON.stringify(simBilling('s', simCompany('s', 7), 2026, 3)));
    expect(JSON.stringify(simBilling('s', c, 2026, 3))).not.toBe(JSON.stringify(simBilling('s', c, 2026, 4)));
  });

  it("add up as Ledger's do, and every one archives within the rounding tolerance", () => {
    let fractional = 0;
    let withCustom = 0;
    for (let i = 0; i < 60; i++) {
      const company = simCompany('contract', i);
      for (let month = 1; month <= 12; month++) {
        const answer = simBilling('contract', company, 2026, month);
        if (!answer) {
          expect(i).toBe(4); // the company Ledger has no plan for
          continue;
        }
        const r = answer.receipt;
        const parts = r.total_user_charges + r.total_asset_charges + r.total_line_item_charges + r.ticket_charge + r.backup_charge;
        expect(Math.abs(parts - r.total)).toBeLessThan(1e-6);
        if (Math.round(r.total * 100) !== r.total * 100) fractional++;
        if (r.billed_line_items.length) withCustom++;
        const post = SnapshotPost.parse(buildSnapshotFromBilling(answer, company.codex));
        expect(() => prepareSnapshot(post, '0.05')).not.toThrow();
      }
    }
    // Like the real ones, many carry fractions of a cent, and custom items appear.
    expect(fractional).toBeGreaterThan(50);
    expect(withCustom).toBeGreaterThan(20);
  });
});

describe('the simulator speaks the contract', () => {
  const get = (base: string, p: string, token: string | null = TOKEN) => fetch(base + p, { headers: token ? { Authorization: `Bearer ${token}` } : {} });

  it('Codex lists companies, one without an account number; unknown accounts are 404', async () => {
    const list = (await (await get(sim.codexUrl, '/api/companies')).json()) as { account_number: string | null; name: string }[];
    expect(list).toHaveLength(31);
    expect(list.filter((c) => !c.account_number)).toHaveLength(1);
    expect(list.filter((c) => c.account_number === accountNumber(3))[0]).toMatchObject({ billing_plan: null });
    const missing = await get(sim.codexUrl, '/api/companies/999');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'Company not found' });
    expect((await get(sim.codexUrl, '/api/companies', null)).status).toBe(401);
    expect((await get(sim.codexUrl, '/api/companies', 'wrong')).status).toBe(401);
  });

  it('Ledger bills, has no bill for a company without a plan, and refuses the accept endpoint to services', async () => {
    const bill = await get(sim.ledgerUrl, `/api/billing/${accountNumber(1)}?year=2026&month=10`);
    expect(bill.status).toBe(200);
    expect(await bill.json()).toMatchObject({ account_number: accountNumber(1), billing_period: '2026-10', receipt: expect.any(Object), effective_rates: expect.any(Object) });
    expect((await get(sim.ledgerUrl, `/api/billing/${accountNumber(4)}?year=2026&month=10`)).status).toBe(404);
    expect((await get(sim.ledgerUrl, `/api/billing/${accountNumber(1)}`)).status).toBe(400);
    const summary = (await (await get(sim.ledgerUrl, `/api/invoice/${accountNumber(1)}/summary?year=2026&month=10`)).json()) as Record<string, unknown>;
    expect(summary).toMatchObject({ invoice_number: `${accountNumber(1)}-202610`, is_archived: false });
    const accept = await fetch(sim.ledgerUrl + '/api/bill/accept', { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(accept.status).toBe(403);
  });
});

describe('clients', () => {
  it('Ledger 404 is "no bill", after one attempt', async () => {
    const r = await new LedgerClient(peers).billing(accountNumber(4), 2026, 10);
    expect(r).toMatchObject({ kind: 'no_bill', attempts: 1 });
  });

  it('retries 5xx with backoff, then fails saying what came back', async () => {
    sim.settings.errorRate = 1;
    try {
      const err = (await new LedgerClient(peers).billing(accountNumber(1), 2026, 10).catch((e) => e)) as PeerError;
      expect(err).toBeInstanceOf(PeerError);
      expect(err.attempts).toBe(3);
      expect(err.message).toBe(`Ledger GET api/billing/${accountNumber(1)}?year=2026&month=10: Ledger answered 503: Simulated failure: Ledger is overloaded`);
    } finally {
      sim.settings.errorRate = 0;
    }
  });

  it('a refused token is not retried and says which variable to check', async () => {
    const err = (await new CodexClient({ ...peers, codexToken: 'wrong' }).companies().catch((e) => e)) as PeerError;
    expect(err.attempts).toBe(1);
    expect(err.message).toMatch(/Codex refused our token \(401: Authentication required\); check CODEX_TOKEN or SERVICE_TOKEN/);
  });

  it('times out and retries a peer that does not answer', async () => {
    sim.settings.timeoutRate = 1;
    sim.settings.timeoutHoldMs = 2000;
    try {
      const started = Date.now();
      const err = (await new LedgerClient({ ...peers, timeoutMs: 100, retries: 1 }).billing(accountNumber(2), 2026, 10).catch((e) => e)) as PeerError;
      expect(err.kind).toBe('timeout');
      expect(err.attempts).toBe(2);
      expect(err.message).toMatch(/no answer within 100 ms/);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      sim.settings.timeoutRate = 0;
    }
  });

  it('says when nothing listens', async () => {
    const closed = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as net.AddressInfo;
        srv.close(() => resolve(port));
      });
    });
    const err = (await new CodexClient({ ...peers, codexUrl: `http://127.0.0.1:${closed}`, retries: 1 }).companies().catch((e) => e)) as PeerError;
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(/connection refused/);
  });

  it('backs off exponentially with full jitter, capped', () => {
    expect(backoffDelay(0, 100, 5000, () => 0.999)).toBe(100);
    expect(backoffDelay(3, 100, 5000, () => 0.999)).toBe(799);
    expect(backoffDelay(10, 100, 5000, () => 1)).toBe(5000);
    expect(backoffDelay(5, 100, 5000, () => 0)).toBe(0);
  });
});
