/**
 * The audit trail: every write and admin action recorded with its actor (the token's name),
 * request id, client and time; read back with filters and pages (admin only); append-only in
 * the database; each entry a leaf of the log, so `archive verify` names a changed or deleted one.
 */
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, AuditPage } from '../../shared/api';
import { tokensCommand } from '../../server/cli/tokens';
import { verifyArchive } from '../../server/integrity/verify';
import { fixtureBills } from '../helpers/fixtures';
import { ADMIN_TOKEN, startTestServer, testConfig, type TestServer } from '../helpers/server';
import { integrated, tampered as tamperedWith } from '../helpers/integrity';

let server: TestServer;
let key: string;
let requestId: string;
const bill = fixtureBills()[0];
const invoice = bill.body.invoice_number as string;

beforeAll(async () => {
  server = await startTestServer();
  key = (await (await server.api('/api/integrity/key')).text()).trim();
  const res = await server.api('/api/snapshot', { method: 'POST', body: bill.rawBody, headers: { 'Content-Type': 'application/json', 'X-Request-Id': 'ledger-req-42' } });
  expect(res.status).toBe(201);
  requestId = res.headers.get('x-request-id')!;
  await server.api(`/api/snapshot/${invoice}/pdf`);
  await server.api(`/api/snapshot/${invoice}/csv`, { token: ADMIN_TOKEN });
  await server.api(`/api/snapshot/${invoice}/bundle`).catch(() => undefined);
  expect((await server.api('/api/scheduler/config', { method: 'POST', json: { hour: 5 }, token: ADMIN_TOKEN })).status).toBe(200);
  const out: string[] = [];
  expect(await tokensCommand(testConfig({ DATABASE_URL: server.database.url }), { action: 'create', name: 'clerk.audit', scope: 'read' }, (l) => out.push(l))).toBe(0);
  expect(await tokensCommand(testConfig({ DATABASE_URL: server.database.url }), { action: 'revoke', name: 'clerk.audit' }, (l) => out.push(l))).toBe(0);
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const audit = async (query = ''): Promise<AuditPage> => {
  const res = await server.api(`/api/audit${query}`, { token: ADMIN_TOKEN });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json();
};

describe('the audit trail', () => {
  it('records a posted bill with its actor, request id, client and period', async () => {
    const { entries } = await audit('?action=bill.archived');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: 'service', subject: invoice, request_id: requestId, client: expect.stringMatching(/127\.0\.0\.1/), details: { source: 'ledger_post' } });
    expect(requestId).toBe('ledger-req-42');
    expect(entries[0].period).toBe(`${bill.body.billing_year}-${String(bill.body.billing_month).padStart(2, '0')}`);
  });

  it('records exports, the schedule change with before and after, and token changes from the command line', async () => {
    const { entries } = await audit();
    const actions = entries.map((e) => `${e.action} ${e.actor}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'export.pdf service',
        'export.csv admin',
        'schedule.changed admin',
        'token.created cli:' + (process.env.USER ?? 'root'),
        'token.revoked cli:' + (process.env.USER ?? 'root'),
      ]),
    );
    const change = entries.find((e) => e.action === 'schedule.changed')!;
    expect(change.details).toMatchObject({ before: { hour: 2 }, after: { hour: 5 } });
    expect(entries.find((e) => e.action === 'token.created')).toMatchObject({ subject: 'clerk.audit', details: { scope: 'read' } });
  });

  it('records a run started, and a verification', async () => {
    const res = await server.api('/api/runs', { method: 'POST', json: { year: 2026, month: 1, dry_run: true, accounts: ['999999'] }, token: ADMIN_TOKEN });
    const started = await res.json();
    expect((await server.api('/api/integrity/verify', { method: 'POST', token: ADMIN_TOKEN })).status).toBe(200);
    const run = (await audit('?action=run.started')).entries[0];
    expect(run).toMatchObject({ actor: 'admin', subject: started.job_id, period: '2026-01', details: { dry_run: true } });
    expect((await audit('?action=verify.run')).entries[0]).toMatchObject({ actor: 'admin', details: { ok: true } });
  });

  it('filters by actor, action, invoice, period and time, newest first, in pages', async () => {
    const all = await audit();
    expect(all.total).toBeGreaterThanOrEqual(8);
    const times = all.entries.map((e) => e.at);
    expect(times).toEqual([...times].sort().reverse());
    expect((await audit('?actor=service')).entries.every((e) => e.actor === 'service')).toBe(true);
    expect((await audit(`?invoice_number=${invoice}`)).entries.map((e) => e.action).sort()).toEqual(expect.arrayContaining(['bill.archived', 'export.csv', 'export.pdf']));
    expect((await audit('?period=1999-01')).total).toBe(0);
    const page = await audit('?limit=2&offset=1');
    expect(page.entries.map((e) => e.id)).toEqual(all.entries.slice(1, 3).map((e) => e.id));
    expect((await audit(`?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).total).toBe(0);
    const bad = await server.api('/api/audit?action=bill.deleted&colour=red', { token: ADMIN_TOKEN });
    expect(bad.status).toBe(400);
    expect((await bad.json()).details.fields.map((f: { field: string }) => f.field).sort()).toEqual(['action', 'colour']);
    expect((await server.api('/api/audit')).status).toBe(403);
  });

  it("records the connection's address, never one a client claims, unless TRUST_PROXY says a proxy is in front", async () => {
    const forged = { 'X-Forwarded-For': '198.51.100.7' };
    await server.api(`/api/snapshot/${invoice}/csv`, { headers: forged });
    expect((await audit('?action=export.csv&actor=service')).entries[0].client).toMatch(/127\.0\.0\.1/);
    const proxied = await startTestServer({ TRUST_PROXY: 'on' });
    try {
      expect((await proxied.api('/api/snapshot', { method: 'POST', body: bill.rawBody, headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': '198.51.100.7, 203.0.113.9' } })).status).toBe(
        201,
      );
      const entry = ((await (await proxied.api('/api/audit?action=bill.archived', { token: ADMIN_TOKEN })).json()) as AuditPage).entries[0];
      // One proxy: its own entry (the last) is the client; what came before it is the client's word.
      expect(entry.client).toBe('203.0.113.9');
    } finally {
      await proxied.stop();
    }
  });

  it('is append-only', async () => {
    await expect(server.db.knex.raw(`UPDATE audit_log SET actor = 'nobody'`)).rejects.toThrow(/immutable/);
    await expect(server.db.knex.raw(`DELETE FROM audit_log`)).rejects.toThrow(/immutable/);
    await expect(server.db.knex.raw(`TRUNCATE audit_log`)).rejects.toThrow(/immutable/);
  });

  it('puts every entry in the log, and archive verify names one changed or deleted', async () => {
    await integrated(server);
    const leaves = await server.db.knex('log_leaves').where('kind', 'audit').count({ n: '*' }).first();
    const entries = await server.db.knex('audit_log').count({ n: '*' }).first();
    expect(Number(leaves!.n)).toBe(Number(entries!.n));
    const clean = await verifyArchive(server.db.knex, { verifierKey: key });
    expect(clean.findings).toEqual([]);
    expect(clean.audit_entries).toBe(Number(entries!.n));

    const target: AuditEntry = (await audit('?action=schedule.changed')).entries[0];
    const changed = await tampered((trx) => trx.raw(`UPDATE audit_log SET details = '{"before":{"hour":2},"after":{"hour":3}}' WHERE id = ?`, [target.id]));
    expect(changed.findings.map((f) => f.message)).toEqual([
      expect.stringMatching(new RegExp(`^Audit entry ${target.id} \\(schedule.changed by admin at .*\\) no longer matches what the log recorded`)),
    ]);
    const deleted = await tampered((trx) => trx.raw(`DELETE FROM audit_log WHERE id = ?`, [target.id]));
    expect(deleted.findings.map((f) => f.message)).toEqual([expect.stringMatching(new RegExp(`^Audit entry ${target.id} \\(leaf \\d+\\) is no longer in the trail: it was deleted`))]);
  });
});

const tampered = (sql: (trx: Knex.Transaction) => Promise<unknown>) => tamperedWith(server.db.knex, key, sql);
