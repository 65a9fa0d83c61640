import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { AccountSummary } from '../../shared/ipc.ts';
import { launchChromium } from '../fixtures/provider/browser.ts';
import { staticServer } from '../fixtures/static-server.ts';

describe('the renderer in Chromium', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof staticServer>>;
  let index: string;
  before(async () => {
    assert.ok(existsSync('dist/renderer/renderer/app.js'), 'run npm run build first (npm install does it)');
    server = await staticServer('.');
    index = `${server.url}/renderer/index.html`;
    browser = await launchChromium();
  });
  after(async () => { await browser?.close(); server?.close(); });

  async function open(accounts: AccountSummary[] | 'fail') {
    const page = await browser.newPage();
    // In the app, preload provides this bridge from the main process.
    await page.addInitScript((data) => {
      (globalThis as unknown as { tokentray: unknown }).tokentray = {
        listAccounts: async () => { if (data === 'fail') throw new Error('broker stopped'); return data; },
      };
    }, accounts);
    await page.goto(index);
    return page;
  }

  test('lists accounts with their status and warns about memory-only tokens', async () => {
    const page = await open([
      { id: 'github', name: 'GitHub <b>work</b>', status: 'valid', flow: 'browser', accessTokenExpiresAt: '2030-01-01T00:00:00.000Z', persisted: true },
      { id: 'okta', name: 'Okta', status: 'reauth_required', flow: 'device', accessTokenExpiresAt: null, persisted: false },
    ]);
    await page.waitForSelector('#accounts:not([hidden])');
    const rows = await page.locator('#accounts tbody tr').allTextContents();
    assert.equal(rows.length, 2);
    assert.match(rows[0]!, /GitHub <b>work<\/b>valid/); // names are text, never HTML
    assert.match(rows[1]!, /reauth required/);
    assert.match(rows[1]!, /in memory only/);
    assert.equal(await page.locator('#empty').isHidden(), true);
    await page.close();
  });

  test('says so when there are no accounts, and shows a clear error when the broker fails', async () => {
    const empty = await open([]);
    await empty.waitForSelector('#empty:not([hidden])');
    assert.match((await empty.textContent('#empty')) ?? '', /No accounts yet/);
    await empty.close();
    const failing = await open('fail');
    await failing.waitForSelector('#error:not([hidden])');
    assert.match((await failing.textContent('#error')) ?? '', /Cannot list accounts: broker stopped/);
    await failing.close();
  });
});
