/**
 * A correction filed from the desktop app, in Debian Chromium against a real server and the
 * Ledger simulator: a dry run finds a bill Ledger changed since it was archived; on the run's
 * page, "File correction…" shows the difference line by line, and "Archive correction" (with a
 * reason) files it; the bill opens at revision 2 with its notice and its revisions, revision 1
 * says it is superseded, and a read-only token is not offered the button.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountNumber } from '../../server/sim/generate';
import { createToken } from '../../server/api-tokens';
import { buildRenderer, CHROMIUM, CHROMIUM_ARGS, hasChromium, serveRenderer } from '../helpers/renderer-server';
import { ADMIN_TOKEN } from '../helpers/server';
import { startRunWorld, type RunWorld } from '../helpers/runs';

const SHOTS = path.resolve(__dirname, '../../test-artifacts/screenshots');

describe.skipIf(!hasChromium)('filing a correction from the desktop app (Chromium, web bridge)', () => {
  let w: RunWorld;
  let web: { url: string; close(): Promise<void> };
  let browser: Browser;
  let page: Page;
  let dryRun: string;
  let invoice: string;
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });

  const connect = async (token: string, name: string) => {
    await page.goto(`${web.url}#/connect`);
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Server URL').fill(web.url);
    await page.getByLabel('Token', { exact: true }).fill(token);
    await page.getByRole('button', { name: 'Save and connect' }).click();
    await expect.poll(() => page.getByTestId('log-status').innerText()).toMatch(/^Log verified/);
    // The first connection to this server trusts its key; the next one already knows it.
    const first = page.getByRole('button', { name: 'I have compared it' });
    if (await first.isVisible()) await first.click();
  };

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    buildRenderer();
    w = await startRunWorld({ companies: 8 });
    expect((await w.runToEnd({ year: 2026, month: 10, dry_run: false })).counts.archived).toBeGreaterThan(0);
    w.sim.settings.changedAccounts = [accountNumber(2)];
    const dry = await w.runToEnd({ year: 2026, month: 10, dry_run: true });
    expect(dry.counts.changed_since_archived).toBe(1);
    dryRun = dry.id;
    web = await serveRenderer(w.server.url);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
    page.setDefaultTimeout(10_000);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await w?.stop();
  });

  it('shows the difference line by line first, then archives the correction with its reason', async () => {
    await connect(ADMIN_TOKEN, 'Admin');
    await page.evaluate((id) => (location.hash = `#/job/${id}`), dryRun);
    // Click one: the dialog, with Ledger's bill compared to the archived one.
    await page.getByRole('button', { name: 'File correction…' }).click();
    const dialog = page.getByRole('dialog', { name: /^Correct invoice / });
    await expect.poll(() => dialog.getByRole('table', { name: 'Lines that change' }).isVisible()).toBe(true);
    invoice = (await dialog.getAttribute('aria-label'))!.replace('Correct invoice ', '');
    expect(await dialog.getByTestId('correction-difference').innerText()).toMatch(/42\.50/);
    const rows = await dialog.getByRole('table', { name: 'Lines that change' }).locator('tbody tr').allInnerTexts();
    expect(rows).toEqual([expect.stringMatching(/Late adjustment[\s\S]*added/)]);
    const archive = dialog.getByRole('button', { name: 'Archive correction (revision 2)' });
    expect(await archive.isDisabled()).toBe(true); // not without a reason
    await dialog.getByLabel(/Why is the bill corrected/).fill('Late adjustment agreed with the customer');
    await shot('correction-preview');
    // Click two: archived, and the bill opens at its new revision.
    await archive.click();
    await expect.poll(() => page.getByTestId('bill-correction').isVisible()).toBe(true);
    expect(await page.getByTestId('bill-correction').innerText()).toMatch(/^Correction\. Revision 2 corrects revision 1 because “Late adjustment agreed with the customer” \(filed by admin, /);
    expect(page.url()).toContain(`#/bill/${invoice}?revision=2`);
    const revisions = await page.getByTestId('bill-revisions').locator('tbody tr').allInnerTexts();
    expect(revisions).toEqual([expect.stringMatching(/^1\t.*\tarchive-run:/), expect.stringMatching(/^2 \(shown\)\t.*\tadmin\t.*Late adjustment agreed/)]);
    await shot('bill-correction');
    // The archive holds both revisions, the first unchanged.
    const rows2 = await w.server.db.knex('billing_snapshots').where({ invoice_number: invoice }).orderBy('revision').select('revision', 'total_amount');
    expect(rows2.map((r) => r.revision)).toEqual([1, 2]);
  });

  it('opens revision 1 from the history, which says it is superseded and offers no second correction of it', async () => {
    await page.getByTestId('bill-revisions').locator('tbody tr').first().click();
    await expect.poll(() => page.getByTestId('bill-superseded').isVisible()).toBe(true);
    expect(await page.getByTestId('bill-superseded').innerText()).toMatch(/^Superseded\. Revision 2 corrects this bill/);
    expect(await page.getByRole('button', { name: 'Correct from Ledger…' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Open the latest revision' }).click();
    await expect.poll(() => page.getByTestId('bill-correction').isVisible()).toBe(true);
  });

  it('offers no correction to a read-only token', async () => {
    const { token } = await createToken(w.server.db.knex, { name: 'clerk.corrections', scope: 'read' });
    await connect(token, 'Clerk');
    await page.evaluate((inv) => (location.hash = `#/bill/${inv}`), invoice);
    await expect.poll(() => page.getByTestId('bill-correction').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Correct from Ledger…' }).count()).toBe(0);
  });
});
