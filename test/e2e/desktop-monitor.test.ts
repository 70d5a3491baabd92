/**
 * The desktop app as a monitor of the server's log, in Debian Chromium against a real server:
 * it trusts the first key and shows it to be compared, proves a bill on this computer, and
 * raises the red banner, which cannot be dismissed, when the log's history is rewritten by a
 * database superuser who holds the signing key, and when the server signs with another key;
 * trusting again takes the key ID typed in.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigner } from '../../server/integrity/signer';
import { append, leafHashSync } from '../../server/integrity/tree';
import { leafText } from '../../shared/evidence';
import { fixtureBills } from '../helpers/fixtures';
import { buildRenderer, CHROMIUM, CHROMIUM_ARGS, hasChromium, serveRenderer } from '../helpers/renderer-server';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../helpers/server';
import { integrated } from '../helpers/integrity';

const SHOTS = path.resolve(__dirname, '../../test-artifacts/screenshots');

/**
 * What an attacker with the database and the signing key can do: change leaf 0, rebuild the
 * tree over it and sign its root for the same size. Every checkpoint alone verifies; only a
 * monitor that remembers the old root can tell.
 */
async function rewriteHistory(server: TestServer): Promise<void> {
  const knex = server.db.knex;
  const last = await knex('log_checkpoints').orderBy('size', 'desc').first();
  const signer = await loadSigner({ dataDir: path.join(os.tmpdir(), 'archive-test-data'), origin: last.note.split('\n')[0] });
  const leaves = await knex('log_leaves').orderBy('idx').select('idx', 'data');
  const forged = leaves.map((l, i) => (i === 0 ? Buffer.from(leafText('snapshot', 'FORGED-1', '0'.repeat(64))) : l.data));
  const tree = append(0, new Map(), forged.map(leafHashSync));
  await knex.transaction(async (trx) => {
    await trx.raw('SET LOCAL session_replication_role = replica');
    await trx.raw('UPDATE log_leaves SET data = ?, hash = ? WHERE idx = 0', [forged[0], leafHashSync(forged[0])]);
    await trx.raw('DELETE FROM log_nodes');
    for (const [k, h] of tree.nodes) if (!k.startsWith('0/')) await trx('log_nodes').insert({ level: Number(k.split('/')[0]), idx: Number(k.split('/')[1]), hash: Buffer.from(h) });
    await trx.raw('DELETE FROM log_checkpoints WHERE size > 0');
    await trx('log_checkpoints').insert({ size: tree.size, root: Buffer.from(tree.root), note: signer.checkpoint(tree.size, tree.root), verifier_key: signer.verifierKey });
  });
}

describe.skipIf(!hasChromium)('the desktop app as a monitor of the log (Chromium, web bridge)', () => {
  let server: TestServer;
  let other: TestServer | undefined;
  let web: { url: string; close(): Promise<void> };
  let browser: Browser;
  let page: Page;
  let key: string;
  const invoice = fixtureBills()[3].body.invoice_number as string;
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    buildRenderer();
    server = await startTestServer();
    for (const b of fixtureBills().slice(0, 8)) expect((await server.api('/api/snapshot', { method: 'POST', body: b.rawBody, headers: { 'Content-Type': 'application/json' } })).status).toBe(201);
    await integrated(server);
    key = (await (await server.api('/api/integrity/key')).text()).trim();
    web = await serveRenderer(server.url);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    page = await (await browser.newContext({ viewport: { width: 1360, height: 880 } })).newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(web.url);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await other?.stop();
    await server?.stop().catch(() => undefined);
  });

  it('trusts the key it sees first and shows its ID to compare', async () => {
    await page.getByLabel('Name').fill('Monitored');
    await page.getByLabel('Server URL').fill(web.url);
    await page.getByLabel('Token', { exact: true }).fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Save and connect' }).click();
    await expect.poll(() => page.getByTestId('log-first-use').isVisible()).toBe(true);
    expect(await page.getByTestId('log-first-use').innerText()).toContain(key.split('+')[1]);
    await expect.poll(() => page.getByTestId('log-status').innerText()).toBe('Log verified: 16 entries');
    await shot('log-first-use');
    await page.getByRole('button', { name: 'I have compared it' }).click();
    await expect.poll(() => page.getByTestId('log-first-use').count()).toBe(0);
  });

  it('proves a bill on this computer', async () => {
    await page.evaluate((inv) => (location.hash = `#/bill/${inv}`), invoice);
    await expect.poll(() => page.getByTestId('bill-proof').innerText(), { timeout: 10_000 }).toMatch(/^✓ Included in checkpoint \d+ \(leaf \d+\), verified on this computer$/);
    await shot('bill-proof');
  });

  it('raises a banner that stays when the history is rewritten, even with the real key', async () => {
    await rewriteHistory(server);
    await page.getByRole('button', { name: 'Check now' }).click();
    const alarm = page.getByRole('alert').filter({ hasText: 'history was rewritten' });
    await expect.poll(() => alarm.isVisible()).toBe(true);
    expect(await alarm.innerText()).toMatch(/^Log verification failed\. The log's history was rewritten[\s\S]*tell your administrator/);
    await expect.poll(() => page.getByTestId('bill-proof').innerText()).toMatch(/^✗ Not proven/);
    // No way to close it; it is there on every screen and after every check.
    expect(await alarm.getByRole('button', { name: /close|dismiss/i }).count()).toBe(0);
    await page.getByRole('button', { name: 'Snapshots', exact: true }).click();
    await page.getByRole('button', { name: 'Check now' }).click();
    await page.waitForTimeout(300);
    expect(await alarm.isVisible()).toBe(true);
    await shot('log-alarm');
  });

  it('shows the audit trail: who archived and downloaded what, filtered', async () => {
    await server.api(`/api/snapshot/${invoice}/csv`, { token: ADMIN_TOKEN });
    await page.getByRole('button', { name: 'Audit', exact: true }).click();
    await expect.poll(() => page.getByTestId('audit-count').innerText()).toMatch(/^\d+ entries$/);
    await page.getByLabel('What').selectOption('bill.archived');
    await expect.poll(() => page.getByTestId('audit-count').innerText()).toBe('8 entries');
    expect(await page.getByTestId('audit-row').first().innerText()).toMatch(/service\s+bill archived/);
    await page.getByLabel('What').selectOption('');
    await page.getByLabel('Invoice').fill(invoice);
    // Newest first: the CSV just downloaded, the bundles the bill's view checked, the archiving.
    const what = async () => (await page.getByTestId('audit-row').allInnerTexts()).map((r) => r.split('\t')[2]);
    await expect.poll(async () => (await what())[0]).toBe('CSV downloaded');
    expect((await what()).at(-1)).toBe('bill archived');
    expect(new Set((await what()).slice(1, -1))).toEqual(new Set(['evidence bundle downloaded']));
    await shot('audit');
  });

  it('raises it when the server signs with another key, and trusts again only the key ID typed in', async () => {
    const port = new URL(server.url).port;
    await server.stop();
    other = await startTestServer({ SERVICE_PORT: port, ARCHIVE_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'archive-other-key-')) });
    const otherKey = (await (await other.api('/api/integrity/key')).text()).trim();
    expect(otherKey).not.toBe(key);
    await page.getByRole('button', { name: 'Check now' }).click();
    const alarm = page.getByRole('alert').filter({ hasText: 'another key' });
    await expect.poll(() => alarm.isVisible()).toBe(true);
    expect(await alarm.innerText()).toContain(otherKey.split('+')[1]);
    await alarm.getByRole('button', { name: /Trust the server/ }).click();
    const dialog = page.getByRole('dialog', { name: "Trust the server's key" });
    await dialog.getByLabel('Key ID you compared').fill(key.split('+')[1]);
    await shot('log-trust-again');
    await dialog.getByRole('button', { name: 'Trust this key' }).click();
    await expect.poll(() => dialog.innerText()).toMatch(/type the key ID you compared/);
    await dialog.getByLabel('Key ID you compared').fill(otherKey.split('+')[1]);
    await dialog.getByRole('button', { name: 'Trust this key' }).click();
    await expect.poll(() => page.getByRole('alert').count()).toBe(0);
    await expect.poll(() => page.getByTestId('log-status').innerText()).toMatch(/^Log verified: 0 entries$/);
  });

  it('says so when the log cannot be read, check after check: a server cannot hide a rewrite behind errors', async () => {
    await other!.stop();
    other = undefined;
    for (let i = 0; i < 3; i++) {
      await page.getByRole('button', { name: 'Check now' }).click();
      await page.waitForTimeout(200);
    }
    const alarm = page.getByTestId('log-unchecked');
    await expect.poll(() => alarm.isVisible(), { timeout: 5000 }).toBe(true);
    expect(await alarm.innerText()).toMatch(/^The server's log cannot be checked\. The last 3 checks could not read it; it was last verified/);
    expect(await page.getByTestId('log-status').innerText()).toMatch(/^Log verified: 0 entries \(/);
  });
});
