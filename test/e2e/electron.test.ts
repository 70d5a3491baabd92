/**
 * The same journey in the real Electron app (Playwright's Electron driver). Electron's binary
 * cannot be downloaded on our build machines, so this runs wherever it is installed (a
 * developer's machine after `npm ci`) and is skipped here, saying why.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron, type ElectronApplication, type Page } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRenderer } from '../helpers/renderer-server';
import { FIXTURES, startRunWorld, type RunWorld } from '../helpers/runs';
import { ADMIN_TOKEN } from '../helpers/server';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(__dirname, '../..');

function electronBinary(): { path: string | null; why: string } {
  try {
    const p = require('electron') as unknown as string;
    return fs.existsSync(p) ? { path: p, why: '' } : { path: null, why: `Electron's binary is not at ${p}` };
  } catch (err) {
    return { path: null, why: `Electron's binary is not installed (${(err as Error).message.split('\n')[0]}); npm ci downloads it where the network allows` };
  }
}
const binary = electronBinary();

describe.skipIf(!binary.path)(`the desktop app in Electron${binary.path ? '' : ` — skipped: ${binary.why}`}`, () => {
  let w: RunWorld;
  let app: ElectronApplication;
  let page: Page;

  beforeAll(async () => {
    buildRenderer();
    w = await startRunWorld({ companies: 10, fixturesDir: FIXTURES });
    await w.server.engine.run({ year: 2026, month: 9, dryRun: false, triggeredBy: 'test-setup' });
    const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-electron-'));
    app = await electron.launch({ executablePath: binary.path!, args: [ROOT, `--user-data-dir=${userData}`, '--no-sandbox'], env: { ...process.env, ELECTRON_DISABLE_SECURITY_WARNINGS: 'true' } });
    page = await app.firstWindow();
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await w?.stop();
  });

  it('has no Node in the page and only the bridge', async () => {
    expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    expect(await page.evaluate(() => Object.keys((window as unknown as { archive: object }).archive).sort())).toEqual(['exports', 'jobs', 'runs', 'schedule', 'servers', 'snapshots']);
  });

  it('connects, searches, opens a bill and starts a dry run', async () => {
    await page.getByLabel('Name').fill('Test');
    await page.getByLabel('Server URL').fill(w.server.url);
    await page.getByLabel('Token', { exact: true }).fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Save and connect' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Dashboard', exact: true }).isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Snapshots', exact: true }).click();
    await page.getByLabel('Company', { exact: true }).fill('Müller');
    await expect.poll(() => page.getByTestId('result-count').innerText()).toBe('1 bills');
    await page.getByRole('row').filter({ hasText: '731118-202609' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Müller & Söhne GmbH', exact: true }).isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Runs', exact: true }).click();
    await page.getByLabel('Period').fill('2026-10');
    await page.getByRole('button', { name: 'Start dry run' }).click();
    await expect.poll(() => page.getByRole('heading', { name: /Dry run for Oct 2026/ }).innerText(), { timeout: 30_000 }).toMatch(/partial|completed/);
  });
});
