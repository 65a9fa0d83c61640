// The window follows the broker live: refreshes, an outage, a revoked grant and signing in again.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startDaemon, tokentrayLines, type Daemon } from '../fixtures/daemon.ts';
import { launchChromium } from '../fixtures/provider/browser.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';
import { accountRow, completeSignIn, openWindow, windowContext } from '../fixtures/web-window.ts';

describe('the window follows the broker', () => {
  let op: TestProvider;
  let daemon: Daemon;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    op = await TestProvider.start({ accessTokenTtl: 3 });
    daemon = await startDaemon();
    const added = await tokentrayLines(daemon.env, ['add', 'Short', '--issuer', op.issuer, '--client-id', op.nativeClient.client_id, '--scope', 'openid offline_access api:read', '--no-browser', '--json'], (line) => {
      if (line['event'] === 'authorize') void op.signIn(String(line['url']));
    });
    assert.equal(added.code, 0, added.stderr);
    browser = await launchChromium();
    ({ context } = await windowContext(browser, daemon));
    page = await openWindow(context, daemon);
  });
  after(async () => {
    await browser?.close();
    await daemon?.cleanup();
    await op?.close();
  });

  const expiry = () => accountRow(page, 'Short').locator('[data-kind="access"]').getAttribute('data-expires-at');

  test('with 3 s access tokens the expiry moves forward by itself, without a reload', async () => {
    const row = accountRow(page, 'Short');
    await row.waitFor();
    const seen = new Set<string>();
    const deadline = Date.now() + 15_000;
    while (seen.size < 3 && Date.now() < deadline) {
      const at = await expiry();
      if (at) seen.add(at);
      await page.waitForTimeout(250);
    }
    assert.ok(seen.size >= 3, `the expiry moved forward at least twice (saw ${[...seen].join(', ')})`);
    const times = [...seen].map(Date.parse);
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'always forward');
  });

  test('a provider outage shows retrying with the next attempt time, then valid again', async () => {
    await op.setFault({ mode: '503', retryAfter: 1 });
    const row = accountRow(page, 'Short');
    await row.and(page.locator('[data-status="retrying"], [data-status="expired"]')).waitFor({ timeout: 15_000 });
    await row.getByText(/Next attempt (in \d+ s|now)/).waitFor();
    await op.setFault(null);
    await row.and(page.locator('[data-status="valid"]')).waitFor({ timeout: 20_000 });
  });

  test('a grant revoked at the provider asks to sign in again in plain words; signing in restores valid', async () => {
    await op.revokeGrantOf(op.issuedRefreshTokens.at(-1)!);
    const row = accountRow(page, 'Short');
    await row.and(page.locator('[data-status="reauth_required"]')).waitFor({ timeout: 15_000 });
    assert.match(await row.innerText(), /Sign-in needed/);
    assert.match(await row.innerText(), /What to do: Sign in again\./);
    await page.getByRole('alert').filter({ hasText: '1 account needs you' }).waitFor();
    await row.getByRole('button', { name: 'Sign in again' }).click();
    const link = row.getByRole('link', { name: 'Continue in browser' });
    await link.waitFor();
    await completeSignIn(context, (await link.getAttribute('href'))!);
    await row.and(page.locator('[data-status="valid"], [data-status="refreshing"]')).waitFor({ timeout: 15_000 });
    assert.equal(await page.getByRole('alert').filter({ hasText: 'needs you' }).count(), 0);
  });

  test('"broker gone": the window says so, and comes back with the broker', async () => {
    await daemon.stop();
    await page.getByText(/Tokentray is not answering/).waitFor({ timeout: 10_000 });
    const again = await startDaemon({ home: daemon.home, service: daemon.service });
    daemon = again;
    // A restarted broker has a new port and no sessions: a new link opens the window again.
    page = await openWindow(context, daemon);
    await accountRow(page, 'Short').waitFor();
  });
});
