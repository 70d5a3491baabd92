/**
 * A hostile Ledger and an odd Codex: one company's bad bill or entry fails that company
 * alone, with its reason; the run ends `partial` with exactly those companies failed, and a
 * resume finishes. And a real run archives only months that have ended.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, JobItem } from '../../shared/runs';
import { accountNumber } from '../../server/sim/generate';
import { startRunWorld, type RunWorld } from '../helpers/runs';

type JobWithItems = Job & { items: { items: JobItem[]; total: number } };
const items = async (w: RunWorld, id: string) => ((await (await w.admin(`/api/scheduler/jobs/${id}?per_page=1000`)).json()) as JobWithItems).items.items;

describe('a hostile Ledger and an odd Codex', () => {
  let w: RunWorld;
  const nul = accountNumber(1);
  const surrogate = accountNumber(2);
  const huge = accountNumber(3);
  beforeAll(async () => {
    w = await startRunWorld(
      { companies: 12, seed: 'hostile', hostileAccounts: { [nul]: 'nul', [surrogate]: 'surrogate', [huge]: 'huge' }, hugeBytes: 2 * 1024 * 1024, oddCodexEntries: true },
      { PEER_MAX_BYTES: '1mb', PEER_RETRIES: '1' },
    );
  });
  afterAll(() => w.stop());

  it('fails exactly those companies, each with its reason, archives the rest, and a resume finishes', async () => {
    const job = await w.runToEnd({ year: 2026, month: 10, dry_run: false });
    expect(job.status).toBe('partial');
    const all = await items(w, job.id);
    const failed = new Map(all.filter((i) => i.outcome === 'failed').map((i) => [i.account_number, i.error!]));
    const sixty = [...failed.keys()].filter((k) => k.startsWith('1'.repeat(36) + '~'));
    const nulAccount = [...failed.keys()].find((k) => k.startsWith('77700\\02'))!;
    // Two long account numbers that share their first 47 digits stay two companies.
    expect(sixty).toHaveLength(2);
    expect([...failed.keys()].sort()).toEqual([nul, surrogate, huge, ...sixty, '777000001', nulAccount].sort());
    expect(nulAccount).toMatch(/^77700\\02~[0-9a-f]{12}$/);
    expect(failed.get(nulAccount)).toMatch(/not 1 to 50 digits/);
    // The entry that is not an object counts with the prospect as an entry without an account.
    expect(job.codex_entries_without_account).toBe(2);
    expect(failed.get(nul)).toMatch(/does not pass validation: billing_data_json\.receipt\.billed_users\[0\]\.name must not contain the NUL character/);
    expect(failed.get(surrogate)).toMatch(/must be valid Unicode text \(a lone surrogate/);
    expect(failed.get(huge)).toMatch(/answer too large \(more than 1048576 bytes/);
    expect(failed.get(sixty.find((k) => failed.get(k)!.includes('1'.repeat(60)))!)).toMatch(/Codex lists the account number "1{60}", which is not 1 to 50 digits/);
    expect(failed.get('777000001')).toMatch(/a name that is not text \(number\)/);
    const archived = all.filter((i) => i.outcome === 'archived').length;
    expect(job.counts.failed).toBe(7);
    expect(archived + job.counts.no_bill + 7).toBe(job.counts.total);
    // Nothing half-written: every archived company has its bill, nothing else was stored.
    const [{ n }] = await w.server.db.knex('billing_snapshots').where({ billing_year: 2026, billing_month: 10 }).count({ n: '*' });
    expect(Number(n)).toBe(archived);

    // Ledger mends its ways; Codex's odd entries stay odd. The resume finishes: the three bills are archived.
    w.sim.settings.hostileAccounts = {};
    expect((await w.admin(`/api/runs/${job.id}/resume`, { method: 'POST' })).status).toBe(202);
    const end = await w.waitForEnd(job.id);
    expect(end.status).toBe('partial');
    expect(end.counts.failed).toBe(4);
    const after = await items(w, job.id);
    for (const a of [nul, surrogate, huge]) expect(after.find((i) => i.account_number === a)!.outcome).toBe('archived');
    // And a second resume finishes too.
    expect((await w.admin(`/api/runs/${job.id}/resume`, { method: 'POST' })).status).toBe(202);
    expect((await w.waitForEnd(job.id)).counts.failed).toBe(4);
  });

  it('fails alone a company Codex answers oddly about (400, not JSON, too large) in a run of named accounts', async () => {
    const [bad400, notJson, tooBig, fine] = [accountNumber(5), accountNumber(6), accountNumber(7), accountNumber(8)];
    w.sim.settings.codexOddAnswers = { [bad400]: '400', [notJson]: 'not_json', [tooBig]: 'huge' };
    try {
      const job = await w.runToEnd({ year: 2026, month: 9, accounts: [bad400, notJson, tooBig, fine], dry_run: true });
      expect(job.status).toBe('partial');
      const all = await items(w, job.id);
      const by = new Map(all.map((i) => [i.account_number, i]));
      expect(by.get(bad400)).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/Codex answered 400: Invalid account number format/) });
      expect(by.get(notJson)).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/not JSON/) });
      expect(by.get(tooBig)).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/answer too large/) });
      expect(['would_archive', 'no_bill']).toContain(by.get(fine)!.outcome);
    } finally {
      w.sim.settings.codexOddAnswers = {};
    }
  });
});

describe('only months that have ended', () => {
  let w: RunWorld;
  // The server's clock is fixed mid-month, so the test does not depend on today's date.
  const now = new Date('2026-06-15T12:00:00Z');
  beforeAll(async () => {
    w = await startRunWorld({ companies: 3, seed: 'periods' }, {}, { schedulerClock: { now: () => now } });
  });
  afterAll(() => w.stop());
  const current = { year: now.getUTCFullYear(), month: now.getUTCMonth() + 1 };
  const next = current.month === 12 ? { year: current.year + 1, month: 1 } : { year: current.year, month: current.month + 1 };
  const start = (body: Record<string, unknown>) => w.admin('/api/runs', { method: 'POST', json: body });

  it('refuses a real run for the current month, saying when it ends, and writes nothing', async () => {
    const res = await start({ ...current, dry_run: false });
    const body = await res.json();
    expect(res.status).toBe(422);
    expect(body.code).toBe('period_not_ended');
    expect(body.details).toMatchObject({ state: 'open', timezone: 'UTC' });
    expect(body.error).toMatch(/has not ended yet .*provisional/);
    expect(Number((await w.server.db.knex('snapshot_jobs').count({ n: '*' }))[0].n)).toBe(0);
  });

  it('refuses a future month always, even when asked', async () => {
    const res = await start({ ...next, dry_run: false, allow_open_period: true, reason: 'testing' });
    expect(res.status).toBe(422);
    expect((await res.json()).details.state).toBe('future');
  });

  it('takes the current month when asked with a reason, and records the reason', async () => {
    const noReason = await start({ ...current, dry_run: false, allow_open_period: true });
    expect(noReason.status).toBe(400);
    expect((await noReason.json()).details.fields[0].field).toBe('reason');
    const res = await start({ ...current, accounts: [accountNumber(0)], dry_run: false, allow_open_period: true, reason: 'customer leaves mid-month' });
    expect(res.status).toBe(202);
    const job = await w.waitForEnd((await res.json()).job_id);
    expect(job.open_period_reason).toBe('customer leaves mid-month');
  });

  it('lets dry runs look at any month', async () => {
    for (const p of [current, next]) expect((await start({ ...p, dry_run: true })).status).toBe(202);
  });

  it("judges the end of a month in the schedule's zone", async () => {
    // In a zone far ahead of UTC the month may already have begun: whatever the clock, the
    // answer names that zone.
    await w.admin('/api/scheduler/config', { method: 'POST', json: { timezone: 'Pacific/Kiritimati' } });
    // 2026-06-30 12:00 UTC is already July 1 in Kiritimati (UTC+14): June has ended there, July has begun.
    const late = new Date('2026-06-30T12:00:00Z');
    now.setTime(late.getTime());
    const june = await start({ year: 2026, month: 6, accounts: [accountNumber(1)], dry_run: false });
    expect(june.status).toBe(202);
    await w.waitForEnd((await june.json()).job_id);
    const july = await start({ year: 2026, month: 7, dry_run: false });
    expect(july.status).toBe(422);
    expect((await july.json()).details).toMatchObject({ state: 'open', timezone: 'Pacific/Kiritimati' });
    await w.admin('/api/scheduler/config', { method: 'POST', json: { timezone: null } });
  });
});

describe('the recorder', () => {
  let w: RunWorld;
  beforeAll(async () => {
    w = await startRunWorld({ companies: 1, seed: 'recorder' });
  });
  afterAll(() => w.stop());

  it('writes a batch the database refuses company by company, and records the one it still refuses as failed', async () => {
    const { Recorder } = await import('../../server/runs/recorder');
    const knex = w.server.db.knex;
    const id = randomUUID();
    await knex('snapshot_jobs').insert({ id, job_type: 'dry_run', dry_run: true, status: 'running', target_year: 2026, target_month: 1 });
    await knex('snapshot_job_items').insert(['1', '2', '3'].map((a, i) => ({ job_id: id, account_number: a, position: i + 1 })));
    const recorded: JobItem[] = [];
    const recorder = new Recorder(
      knex,
      id,
      'test',
      (item) => recorded.push(item),
      async (v) => v,
    );
    const values = (account: string, company_name: string | null) => ({
      account_number: account,
      company_name,
      outcome: 'no_bill' as const,
      error: null,
      attempts: 1,
      duration_ms: 1,
      snapshot_id: null,
      invoice_number: null,
      total_amount: null,
      line_item_count: null,
      details: null,
      finished_at: new Date(),
    });
    recorder.plain(values('1', 'One'));
    recorder.plain(values('2', 'Two\u0000')); // PostgreSQL refuses a NUL in text
    recorder.plain(values('3', 'Three'));
    await recorder.drain();
    expect(recorder.error).toBeUndefined();
    const rows = await knex('snapshot_job_items').where({ job_id: id }).orderBy('position').select('account_number', 'outcome', 'error', 'company_name');
    expect(rows.map((r) => r.outcome)).toEqual(['no_bill', 'failed', 'no_bill']);
    expect(rows[1].error).toMatch(/Could not record this company's outcome \(no_bill\)/);
    expect(rows[0].company_name).toBe('One');
    expect(recorded).toHaveLength(3);
  });
});
