/** A run's bills prepared in worker threads are the same as prepared on the event loop, refusals keep their reason, and a broken bill fails alone. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareRunBill, type PrepareTask } from '../../server/runs/prepare';
import { createPreparer } from '../../server/runs/prepare-pool';
import { FIXTURES } from '../helpers/fixtures';

const pool = createPreparer(2);
afterAll(() => pool.close());

const task = (file: string, change?: (answer: Record<string, any>) => void): PrepareTask => {
  const answer = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'billing', file), 'utf8'));
  change?.(answer);
  const [account, period] = file.replace('.json', '').split('-');
  const [year, month] = [Number(period.slice(0, 4)), Number(period.slice(4))];
  const what = `Ledger GET api/billing/${account}?year=${year}&month=${month}`;
  return { text: JSON.stringify(answer), account, year, month, what, company: { billing_plan: '[PLAN-A]' }, createdBy: 'archive-run:test', notes: 'test', tolerance: '0.05' };
};
// Ledger's billing answers (the fixtures also hold its error answers for a company it cannot bill).
const billingFiles = fs.readdirSync(path.join(FIXTURES, 'billing')).filter((f) => f.endsWith('.json') && 'receipt' in JSON.parse(fs.readFileSync(path.join(FIXTURES, 'billing', f), 'utf8')));

describe('preparing bills in worker threads', () => {
  it('gives exactly what the event loop gives, for every real Ledger billing answer', async () => {
    expect(billingFiles.length).toBeGreaterThan(5);
    const inWorkers = await Promise.all(billingFiles.map((f) => pool.prepare(task(f))));
    inWorkers.forEach((outcome, i) => {
      expect(outcome, billingFiles[i]).toEqual(prepareRunBill(task(billingFiles[i])));
    });
    const prepared = inWorkers.find((o) => o.kind === 'prepared');
    expect(prepared?.kind === 'prepared' && prepared.prepared.contentHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a bill whose lines do not add up to its total, saying by how much', async () => {
    const outcome = await pool.prepare(task(billingFiles[0], (a) => (a.receipt.total += 10)));
    expect(outcome.kind).toBe('refused');
    expect(outcome.kind === 'refused' && outcome.error).toMatch(/total/i);
  });

  it("refuses an answer that is not JSON, or not this company's or month's bill, naming the request", async () => {
    const notJson = await pool.prepare({ ...task(billingFiles[0]), text: '{"account_number": ' });
    expect(notJson).toEqual({ kind: 'refused', error: expect.stringMatching(/^Ledger GET api\/billing\/\d+\?year=\d+&month=\d+: Ledger answered 200 with something that is not JSON/), details: null });
    const otherMonth = await pool.prepare({ ...task(billingFiles[0]), month: 3 });
    expect(otherMonth.kind === 'refused' && otherMonth.error).toMatch(/: the answer is for \d{4}-\d{2}, not \d{4}-03$/);
    const noReceipt = await pool.prepare(task(billingFiles[0], (a) => delete a.receipt));
    expect(noReceipt.kind === 'refused' && noReceipt.error).toMatch(/the answer has no receipt$/);
  });

  it('fails a task that throws with the reason, and the pool goes on', async () => {
    await expect(pool.prepare({ ...task(billingFiles[0]), tolerance: 'not an amount' })).rejects.toThrow();
    expect((await pool.prepare(task(billingFiles[1]))).kind).toBe('prepared');
  });
});
