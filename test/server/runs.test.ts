/**
 * Snapshot runs against the Ledger + Codex simulator and real PostgreSQL: real and dry runs,
 * account lists, Ledger and Codex faults, one run per period, cancel and resume, changed
 * bills, the real Ledger fixtures, and the live event stream.
 * Over 300 lines: one file per feature (runs), as the other test files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Job, JobItem, RunEvent } from '../../shared/runs';
import { accountNumber } from '../../server/sim/generate';
import { FIXTURES, startRunWorld, until, type RunWorld } from '../helpers/runs';

type JobWithItems = Job & { items: { items: JobItem[]; total: number } };

async function jobWithItems(w: RunWorld, id: string, query = 'per_page=1000'): Promise<JobWithItems> {
  return (await (await w.admin(`/api/scheduler/jobs/${id}?${query}`)).json()) as JobWithItems;
}

async function snapshotCount(w: RunWorld, where: Record<string, unknown> = {}): Promise<number> {
  const [{ n }] = await w.server.db.knex('billing_snapshots').where(where).count({ n: '*' });
  return Number(n);
}

describe('a real run over 50 simulated companies', () => {
  let w: RunWorld;
  beforeAll(async () => {
    w = await startRunWorld({ companies: 50 });
  });
  afterAll(() => w.stop());

  it('archives every company with a bill once, and records an outcome for each', async () => {
    const job = await w.runToEnd({ year: 2026, month: 10, all: true, dry_run: false });
    expect(job.status).toBe('completed');
    expect(job.job_type).toBe('run');
    expect(job.counts).toMatchObject({ total: 50, done: 50, archived: 49, no_bill: 1, failed: 0 });
    expect(job.codex_entries_without_account).toBe(1);
    expect(job.started_at && job.completed_at).toBeTruthy();
    expect(job.triggered_by).toBe('api:admin');
    expect(await snapshotCount(w, { billing_year: 2026, billing_month: 10, source: 'run' })).toBe(49);

    const full = await jobWithItems(w, job.id);
    expect(full.items.total).toBe(50);
    const noBill = full.items.items.find((i) => i.outcome === 'no_bill')!;
    expect(noBill.account_number).toBe(accountNumber(4));
    const archived = full.items.items.filter((i) => i.outcome === 'archived');
    for (const i of archived) {
      expect(i.snapshot_id).toBeGreaterThan(0);
      expect(i.invoice_number).toBe(`${i.account_number}-202610`);
      expect(i.attempts).toBe(1);
      expect(i.duration_ms).toBeGreaterThanOrEqual(0);
    }
    // The item's total is the archived bill's total, and the bill reads back with its CSV.
    const one = archived[0];
    const bill = (await (await w.admin(`/api/snapshot/${one.invoice_number}`)).json()) as { total_amount: string; line_items: unknown[]; id: number };
    expect(bill.total_amount).toBe(one.total_amount);
    expect(bill.line_items).toHaveLength(one.line_item_count!);
    const csv = await (await w.admin(`/api/snapshot/${one.invoice_number}/csv`)).text();
    expect(csv.startsWith('InvoiceNo,Customer,InvoiceDate,DueDate')).toBe(true);
    // The billing answer Ledger gave is kept as the evidence.
    const raw = JSON.parse(await (await w.admin(`/api/snapshot/${one.invoice_number}/raw`)).text());
    expect(raw.billing_period).toBe('2026-10');
    // The company without a plan in Codex is billed with an empty plan, as Ledger does.
    const planless = (await (await w.admin(`/api/snapshot/${accountNumber(3)}-202610`)).json()) as { billing_plan: string };
    expect(planless.billing_plan).toBe('');
  });

  it('a second run finds everything already archived and writes nothing', async () => {
    const before = await snapshotCount(w);
    const job = await w.runToEnd({ year: 2026, month: 10, dry_run: false });
    expect(job.status).toBe('completed');
    expect(job.counts).toMatchObject({ total: 50, archived: 0, already_archived: 49, no_bill: 1 });
    expect(await snapshotCount(w)).toBe(before);
  });

  it('a dry run writes no snapshot and records the full plan', async () => {
    const before = await snapshotCount(w);
    const job = await w.runToEnd({ year: 2026, month: 9, dry_run: true });
    expect(job.status).toBe('completed');
    expect(job.job_type).toBe('dry_run');
    expect(job.counts).toMatchObject({ total: 50, would_archive: 49, no_bill: 1, archived: 0 });
    expect(await snapshotCount(w)).toBe(before);
    const full = await jobWithItems(w, job.id, 'outcome=would_archive&per_page=5');
    expect(full.items.total).toBe(49);
    for (const i of full.items.items) {
      expect(i.total_amount).toMatch(/^\d+\.\d{2}$/);
      expect(i.line_item_count).toBeGreaterThan(0);
      expect(i.details).toMatchObject({ invoice_number: `${i.account_number}-202609`, total_amount: i.total_amount });
      expect(i.snapshot_id).toBeNull();
    }
  });

  it('a dry run shows a bill that changed after it was archived, with the amounts', async () => {
    const changed = accountNumber(7);
    w.sim.settings.changedAccounts = [changed];
    try {
      const job = await w.runToEnd({ year: 2026, month: 10, dry_run: true });
      expect(job.counts).toMatchObject({ already_archived: 48, changed_since_archived: 1 });
      const full = await jobWithItems(w, job.id, 'outcome=changed_since_archived');
      const item = full.items.items[0];
      expect(item.account_number).toBe(changed);
      expect(item.details).toMatchObject({ difference: '42.50' });
      expect(Number(item.details!.ledger_total) - Number(item.details!.archived_total)).toBeCloseTo(42.5, 2);
      expect(item.details!.lines_added).toEqual([expect.stringContaining('Late adjustment')]);
      // A real run records it too, and leaves the archived bill as it was.
      const real = await w.runToEnd({ year: 2026, month: 10, dry_run: false });
      expect(real.counts.changed_since_archived).toBe(1);
      expect(real.status).toBe('completed');
    } finally {
      w.sim.settings.changedAccounts = [];
    }
  });

  it('archives only the accounts asked for, and reports an account Codex does not know as not_found (the run is partial)', async () => {
    const accounts = [accountNumber(1), accountNumber(2), '999999'];
    const job = await w.runToEnd({ year: 2026, month: 8, accounts, dry_run: false });
    expect(job.all_companies).toBe(false);
    expect(job.target_account_numbers).toEqual(accounts);
    expect(job.counts).toMatchObject({ total: 3, archived: 2, not_found: 1, skipped: 0 });
    expect(job.status).toBe('partial');
    expect(job.error).toMatch(/1 account is not known to Codex/);
    expect(await snapshotCount(w, { billing_year: 2026, billing_month: 8 })).toBe(2);
    const full = await jobWithItems(w, job.id, 'outcome=not_found');
    expect(full.items.items[0]).toMatchObject({ account_number: '999999', outcome: 'not_found', error: 'Codex does not know account 999999 (check the number)' });
  });

  it('two concurrent starts for one period give one run', async () => {
    w.sim.settings.latencyMs = 20;
    try {
      const body = { year: 2026, month: 7, dry_run: false };
      const [a, b] = await Promise.all([w.admin('/api/runs', { method: 'POST', json: body }), w.admin('/api/runs', { method: 'POST', json: body })]);
      expect([a.status, b.status].sort()).toEqual([202, 409]);
      const loser = (await (a.status === 409 ? a : b).json()) as { code: string; error: string; details: { job_id: string } };
      const winner = (await (a.status === 202 ? a : b).json()) as { job_id: string };
      expect(loser.code).toBe('run_in_progress');
      expect(loser.details.job_id).toBe(winner.job_id);
      expect(loser.error).toMatch(/A run for 2026-07 is already going/);
      const job = await w.waitForEnd(winner.job_id);
      expect(job.counts.archived).toBe(49);
      // A dry run may go alongside; a new real run for the period is allowed once it ended.
      expect(await snapshotCount(w, { billing_year: 2026, billing_month: 7 })).toBe(49);
    } finally {
      w.sim.settings.latencyMs = 0;
    }
  });

  it('streams progress as server-sent events until the end', async () => {
    w.sim.settings.latencyMs = 10;
    try {
      const res = await w.admin('/api/runs', { method: 'POST', json: { year: 2026, month: 6, dry_run: true, concurrency: 4 } });
      const { job_id } = (await res.json()) as { job_id: string };
      const stream = await w.admin(`/api/runs/${job_id}/events`);
      expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
      const text = await stream.text(); // the server closes the stream after `end`
      const events = text
        .split('\n\n')
        .filter((b) => b.startsWith('event:'))
        .map((b) => JSON.parse(b.split('\ndata: ')[1]) as RunEvent);
      expect(events[0].type).toBe('job');
      const items = events.filter((e) => e.type === 'item');
      expect(items.length).toBeGreaterThan(0);
      const last = events.at(-1)!;
      expect(last.type).toBe('end');
      expect(last.type === 'end' && last.job.counts.done).toBe(50);
      // counts only grow
      const done = items.map((e) => (e.type === 'item' ? e.counts.done : 0));
      expect(done).toEqual([...done].sort((x, y) => x - y));
      // A finished job's stream answers `end` at once.
      const again = await (await w.admin(`/api/runs/${job_id}/events`)).text();
      expect(again).toMatch(/^event: end\n/);
    } finally {
      w.sim.settings.latencyMs = 0;
    }
  });

  it('cancels a running job and resumes it without fetching finished companies again', async () => {
    w.sim.settings.latencyMs = 40;
    try {
      const res = await w.admin('/api/runs', { method: 'POST', json: { year: 2026, month: 5, dry_run: false, concurrency: 2 } });
      const { job_id } = (await res.json()) as { job_id: string };
      await until(async () => (await jobWithItems(w, job_id, 'per_page=1')).counts.done >= 6, 10_000);
      const cancel = await w.admin(`/api/runs/${job_id}/cancel`, { method: 'POST' });
      expect(cancel.status).toBe(202);
      const cancelled = await w.waitForEnd(job_id);
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.counts.done).toBeLessThan(50);
      expect(cancelled.error).toMatch(/resume/);
      const done = (await jobWithItems(w, job_id)).items.items.filter((i) => i.outcome !== null).map((i) => i.account_number);
      const fetchedBefore = new Map(w.sim.billingRequests);

      // Cancelling twice is refused with the reason.
      const again = await w.admin(`/api/runs/${job_id}/cancel`, { method: 'POST' });
      expect(again.status).toBe(409);
      expect(((await again.json()) as { code: string }).code).toBe('invalid_state');

      const resumed = await w.admin(`/api/runs/${job_id}/resume`, { method: 'POST' });
      expect(resumed.status).toBe(202);
      const end = await w.waitForEnd(job_id);
      expect(end.status).toBe('completed');
      expect(end.resume_count).toBe(1);
      expect(end.counts).toMatchObject({ total: 50, done: 50, archived: 49, no_bill: 1 });
      for (const acct of done) expect(w.sim.billingRequests.get(acct)).toBe(fetchedBefore.get(acct));
      expect(await snapshotCount(w, { billing_year: 2026, billing_month: 5 })).toBe(49);

      const completedAgain = await w.admin(`/api/runs/${job_id}/resume`, { method: 'POST' });
      expect(completedAgain.status).toBe(409);

      // The audit trail: who started, cancelled and resumed it, and each bill the run archived, by that token.
      const trail = (await (await w.admin('/api/audit?period=2026-05&limit=1000')).json()) as { entries: { action: string; actor: string; subject: string; details: Record<string, unknown> }[] };
      const of = (action: string) => trail.entries.filter((e) => e.action === action);
      expect([...of('run.started'), ...of('run.cancelled'), ...of('run.resumed')].map((e) => `${e.action} ${e.actor} ${e.subject}`).sort()).toEqual(
        [`run.cancelled admin ${job_id}`, `run.resumed admin ${job_id}`, `run.started admin ${job_id}`].sort(),
      );
      expect(of('bill.archived')).toHaveLength(49);
      expect(of('bill.archived').every((e) => e.actor === 'admin' && e.details.source === 'run' && e.details.job_id === job_id)).toBe(true);
    } finally {
      w.sim.settings.latencyMs = 0;
    }
  });

  it('lists jobs with filters and pagination, and refuses bad filters by name', async () => {
    const all = (await (await w.admin('/api/scheduler/jobs?per_page=3')).json()) as { jobs: Job[]; total: number };
    expect(all.jobs).toHaveLength(3);
    expect(all.total).toBeGreaterThanOrEqual(8);
    const dry = (await (await w.admin('/api/scheduler/jobs?type=dry_run')).json()) as { jobs: Job[] };
    expect(dry.jobs.every((j) => j.dry_run)).toBe(true);
    const cancelled = (await (await w.admin('/api/scheduler/jobs?status=completed&year=2026&month=5')).json()) as { jobs: Job[] };
    expect(cancelled.jobs.map((j) => j.target_month)).toEqual([5]);
    const bad = await w.admin('/api/scheduler/jobs?status=done&colour=red');
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { details: { fields: { field: string }[] } };
    expect(body.details.fields.map((f) => f.field).sort()).toEqual(['colour', 'status']);
    expect((await w.admin('/api/scheduler/jobs/not-a-uuid')).status).toBe(404);
    // Runs and jobs are for administrators only.
    expect((await w.server.api('/api/scheduler/jobs')).status).toBe(403);
    expect((await w.server.api('/api/runs', { method: 'POST', json: { year: 2026, month: 1, dry_run: true } })).status).toBe(403);
  });

  it('keeps each recorded outcome: changing or deleting it with SQL is refused', async () => {
    const knex = w.server.db.knex;
    const item = await knex('snapshot_job_items').where({ outcome: 'archived' }).first();
    await expect(knex('snapshot_job_items').where({ job_id: item.job_id, account_number: item.account_number }).update({ outcome: 'no_bill' })).rejects.toThrow(
      /outcome \(archived\) is recorded and cannot be changed/,
    );
    await expect(knex('snapshot_job_items').where({ job_id: item.job_id, account_number: item.account_number }).update({ outcome: null })).rejects.toThrow(/cannot be changed/);
    await expect(knex('snapshot_job_items').where({ job_id: item.job_id }).delete()).rejects.toThrow(/deleting its items is refused/);
  });

  it('says which accounts of a list Codex knows, before anything is saved or run', async () => {
    const known = accountNumber(3);
    const res = await w.admin('/api/companies/check', { method: 'POST', json: { accounts: [known, '999999', known] } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ known: [{ account_number: known, name: expect.any(String) }], unknown: ['999999'] });
    expect((await w.admin('/api/companies/check', { method: 'POST', json: { accounts: ['12a'] } })).status).toBe(400);
    expect((await w.server.api('/api/companies/check', { method: 'POST', json: { accounts: [known] } })).status).toBe(403);
    w.sim.settings.codexDown = true;
    try {
      const down = await w.admin('/api/companies/check', { method: 'POST', json: { accounts: [known] } });
      expect(down.status).toBe(503);
      expect((await down.json()).error).toMatch(/^Codex cannot be asked which accounts it knows/);
    } finally {
      w.sim.settings.codexDown = false;
    }
  });

  it('refuses a bad run request naming the fields', async () => {
    const res = await w.admin('/api/runs', { method: 'POST', json: { year: 1999, month: 13, accounts: ['abc'], all: true, extra: 1 } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { details: { fields: { field: string }[] } };
    expect(body.details.fields.map((f) => f.field).sort()).toEqual(['accounts[0]', 'dry_run', 'extra', 'month', 'year'].sort());
  });
});

describe('faults', () => {
  let w: RunWorld;
  afterEach(() => w?.stop());

  it('recovers 20% Ledger 5xx by retrying; a company that always fails makes the run partial', async () => {
    w = await startRunWorld({ companies: 50, errorRate: 0.2, seed: 'faults', failingAccounts: [accountNumber(9)] }, { PEER_RETRIES: '5' });
    const job = await w.runToEnd({ year: 2026, month: 10, dry_run: false });
    expect(job.status).toBe('partial');
    expect(job.success).toBe(false);
    expect(job.counts).toMatchObject({ total: 50, archived: 48, no_bill: 1, failed: 1 });
    const full = await jobWithItems(w, job.id);
    const failed = full.items.items.find((i) => i.outcome === 'failed')!;
    expect(failed.account_number).toBe(accountNumber(9));
    expect(failed.attempts).toBe(6);
    expect(failed.error).toMatch(/Ledger GET api\/billing\/\d+\?year=2026&month=10: Ledger answered 500: Unable to calculate billing/);
    expect(full.items.items.some((i) => i.outcome === 'archived' && i.attempts > 1)).toBe(true);
    // Resuming a partial run retries only the failed company.
    w.sim.settings.failingAccounts = [];
    await w.admin(`/api/runs/${job.id}/resume`, { method: 'POST' });
    const end = await w.waitForEnd(job.id);
    expect(end.status).toBe('completed');
    expect(end.counts).toMatchObject({ archived: 49, failed: 0 });
    // The earlier failure stays in the record of the company archived on resume.
    const again = (await jobWithItems(w, job.id)).items.items.find((i) => i.account_number === accountNumber(9))!;
    expect(again).toMatchObject({ outcome: 'archived', error: null });
    expect(again.details!.earlier_failures).toEqual([{ error: failed.error, attempts: 6, finished_at: expect.any(String) }]);
    expect(again.details!.invoice_number).toBe(`${accountNumber(9)}-202610`);
  });

  it('Codex down fails the run with a readable error, and nothing is archived', async () => {
    w = await startRunWorld({ companies: 5, codexDown: true }, { PEER_RETRIES: '1' });
    const job = await w.runToEnd({ year: 2026, month: 10, dry_run: false });
    expect(job.status).toBe('failed');
    expect(job.error).toBe('Cannot list the companies: Codex GET api/companies: Codex answered 503: Codex is down for maintenance');
    expect(await snapshotCount(w)).toBe(0);
  });

  it('a Ledger that does not answer in time is a failure with the reason', async () => {
    w = await startRunWorld({ companies: 3, timeoutRate: 1, timeoutHoldMs: 5000 }, { PEER_RETRIES: '0', PEER_TIMEOUT_MS: '200' });
    const job = await w.runToEnd({ year: 2026, month: 10, dry_run: true });
    expect(job.status).toBe('partial');
    const full = await jobWithItems(w, job.id, 'outcome=failed');
    expect(full.items.items[0].error).toMatch(/no answer within 200 ms/);
  });
});

describe('the real Ledger fixtures through the simulator', () => {
  let w: RunWorld;
  beforeAll(async () => {
    w = await startRunWorld({ companies: 0, fixturesDir: FIXTURES });
  });
  afterAll(() => w.stop());

  it("archives each real bill with Ledger's own totals, lines and CSV; the company Ledger cannot bill fails", async () => {
    const job = await w.runToEnd({ year: 2026, month: 10, dry_run: false });
    expect(job.status).toBe('partial');
    expect(job.counts).toMatchObject({ total: 9, archived: 8, failed: 1 });
    const full = await jobWithItems(w, job.id, 'outcome=failed');
    expect(full.items.items[0].account_number).toBe('820014');
    expect(full.items.items[0].error).toMatch(/Unable to calculate billing/);

    for (const file of fs.readdirSync(path.join(FIXTURES, 'snapshot')).filter((f) => f.endsWith('-202610.json'))) {
      const posted = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'snapshot', file), 'utf8'));
      const ours = (await (await w.admin(`/api/snapshot/${posted.invoice_number}`)).json()) as Record<string, unknown> & { line_items: { amount: string }[] };
      const csv = await (await w.admin(`/api/snapshot/${posted.invoice_number}/csv`)).text();
      expect(csv, file).toBe(fs.readFileSync(path.join(FIXTURES, 'csv', file.replace('.json', '.csv')), 'utf8'));
      expect(ours.line_items.length, file).toBe(posted.line_items.length);
      expect(ours.user_count).toBe(posted.user_count);
      expect(ours.support_level).toBe(posted.support_level);
      expect(ours.contract_term).toBe(posted.contract_term);
    }
  });
});
