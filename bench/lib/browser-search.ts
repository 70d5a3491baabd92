/**
 * "First search results visible within 300 ms of typing": the built renderer in Chromium,
 * connected to the benchmark's server, on the Snapshots screen. For each name, the time from
 * the input event of the last keystroke to the first matching row on screen, measured in the
 * page (the 60 ms debounce included).
 */
import { chromium } from '@playwright/test';
import { buildRenderer, CHROMIUM, CHROMIUM_ARGS, hasChromium, serveRenderer } from '../../test/helpers/renderer-server';
import { summarise } from './stats';

const MEASURE = `async function (text) {
  const input = document.querySelector('input[aria-label="Company"]');
  const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  const firstRowMatches = () => {
    const row = document.querySelector('.tbody [role="row"]');
    return row && row.textContent && row.textContent.toLowerCase().includes(text.toLowerCase());
  };
  return new Promise((resolve) => {
    let t0 = 0;
    const obs = new MutationObserver(() => {
      if (firstRowMatches()) {
        obs.disconnect();
        requestAnimationFrame(() => resolve(performance.now() - t0));
      }
    });
    obs.observe(document.body, { subtree: true, childList: true, characterData: true });
    t0 = performance.now();
    setValue.call(input, text);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
}`;

export async function browserSearchLatency(archiveUrl: string, adminToken: string, names: string[]): Promise<{ samples: number[]; summary: ReturnType<typeof summarise> } | null> {
  if (!hasChromium) return null;
  buildRenderer();
  const web = await serveRenderer(archiveUrl);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 880 } });
    await page.goto(web.url);
    await page.getByLabel('Server URL').fill(web.url);
    await page.getByLabel('Token', { exact: true }).fill(adminToken);
    await page.getByRole('button', { name: 'Save and connect' }).click();
    await page.getByRole('heading', { name: 'Dashboard', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Snapshots', exact: true }).click();
    await page.getByRole('row').nth(1).waitFor();
    const samples: number[] = [];
    for (const name of names) {
      // Passed as text: the TypeScript loader would add helpers the page does not have.
      const ms = (await page.evaluate(`(${MEASURE})(${JSON.stringify(name)})`)) as number;
      samples.push(ms);
      // Clear, and let the unfiltered list come back before the next name.
      await page.getByLabel('Company', { exact: true }).fill('');
      await page.waitForTimeout(400);
    }
    return { samples, summary: summarise(samples) };
  } finally {
    await browser.close();
    await web.close();
  }
}
