/** `archive test-workflow` against a real server and the simulator: every step, and a failing one. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testWorkflow } from '../../server/cli/test-workflow';
import { accountNumber } from '../../server/sim/generate';
import { startRunWorld, type RunWorld } from '../helpers/runs';
import { testConfig } from '../helpers/server';

let w: RunWorld;
beforeAll(async () => {
  w = await startRunWorld({ companies: 6 });
});
afterAll(() => w.stop());

const check = async (account: string, year = 2026, month = 10) => {
  const lines: string[] = [];
  const code = await testWorkflow(testConfig({ CODEX_URL: w.sim.codexUrl, LEDGER_URL: w.sim.ledgerUrl }), { account, year, month, archiveUrl: w.server.url }, (l) => lines.push(l));
  return { code, lines };
};

describe('archive test-workflow', () => {
  it('walks a deployment end to end and archives the bill', async () => {
    const { code, lines } = await check(accountNumber(2));
    expect(code).toBe(0);
    expect(lines.filter((l) => l.startsWith('✓'))).toHaveLength(10);
    expect(lines.join('\n')).toMatch(/✓ 5\. Dry run for this bill: would archive \d+-202610, total \d+\.\d{2}/);
    expect(lines.join('\n')).toMatch(/Next: archiving \d+-202610 for good\. An archived bill is never changed or removed[^\n]*\n✓ 6\. Archive the bill: archived: /);
    expect(lines.at(-1)).toBe('Workflow check passed');
    // Run again, the bill is already archived: still a pass.
    const again = await check(accountNumber(2));
    expect(again.code).toBe(0);
    expect(again.lines.join('\n')).toMatch(/Archive the bill: already_archived/);
  });

  it('does not archive a month that has not ended, and says why before writing anything', async () => {
    const now = new Date();
    const { code, lines } = await check(accountNumber(2), now.getUTCFullYear(), now.getUTCMonth() + 1);
    expect(code).toBe(1);
    expect(lines.join('\n')).toMatch(/✗ 6\. Archive the bill: \d{4}-\d{2} has not ended yet in UTC .*kept for good/);
    expect(lines.join('\n')).not.toMatch(/Next: archiving/);
    const [{ n }] = await w.server.db
      .knex('billing_snapshots')
      .where({ billing_year: now.getUTCFullYear(), billing_month: now.getUTCMonth() + 1 })
      .count({ n: '*' });
    expect(Number(n)).toBe(0);
  });

  it('stops at the first failing step with the reason', async () => {
    const { code, lines } = await check(accountNumber(4));
    expect(code).toBe(1);
    expect(lines.join('\n')).toMatch(/✗ 4\. Ledger .* has the bill: Ledger has no bill for \d+ in 2026-10: No billing plan configured/);
    expect(lines.at(-1)).toBe('Workflow check FAILED');
  });
});
