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
  return { text: JSON.stringify(answer), company: { billing_plan: '[PLAN-A]' }, createdBy: 'archive-run:test', notes: 'test', tolerance: '0.05' };
};
// Ledger's billing answers (the fixtures also hold its error answers for a company it cannot bill).
const billingFiles = fs
  .readdirSync(path.join(FIXTURES, 'billing'))
  .filter((f) => f.endsWith('.json') && 'receipt' in JSON.parse(fs.readFileSync(path.join(FIXTURES, 'billing', f), 'utf8')));

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

  it('fails a bill that is not JSON with the reason, and the pool goes on', async () => {
    await expect(pool.prepare({ ...task(billingFiles[0]), text: '{"account_number": ' })).rejects.toThrow(/JSON/);
    expect((await pool.prepare(task(billingFiles[1]))).kind).toBe('prepared');
  });
});
