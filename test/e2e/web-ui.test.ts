// The window in web mode, driven in Debian Chromium against a real `tokentray serve`, the real
// provider fixture and the real keychain — the same renderer the desktop shell loads.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { curl, startDaemon, tokentray, type Daemon } from '../fixtures/daemon.ts';
import { secretToolAccounts } from '../fixtures/keychain.ts';
import { launchChromium } from '../fixtures/provider/browser.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';
import { accountRow, approveDeviceInTab, type InPage, completeSignIn, fitsWidth, openWindow, recordUiEvents, screenshots, seriousViolations, windowContext } from '../fixtures/web-window.ts';

describe('the window in web mode', () => {
  let op: TestProvider;
  let daemon: Daemon;
  let browser: Browser;
  let context: BrowserContext;
  let answers: string[];
  let page: Page;
  let events: Awaited<ReturnType<typeof recordUiEvents>>;
  const violations: string[] = [];
  const axe = async (view: string) => violations.push(...(await seriousViolations(page)).map((v) => `${view}: ${v}`));

  before(async () => {
    op = await TestProvider.start();
    daemon = await startDaemon();
    browser = await launchChromium();
    ({ context, answers } = await windowContext(browser, daemon));
    page = await openWindow(context, daemon);
    events = await recordUiEvents(context, daemon);
  });
  after(async () => {
    events?.stop();
    await browser?.close();
    await daemon?.cleanup();
    await op?.close();
  });

  async function addThroughWizard(name: string, flow: 'browser' | 'device'): Promise<void> {
    await page.getByRole('link', { name: 'Add account' }).first().click();
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Flow').selectOption(flow);
    await page.getByLabel('Issuer').fill(op.issuer);
    await page.getByLabel('Client ID').fill(op.nativeClient.client_id);
    await page.getByLabel('Scopes').fill('openid offline_access api:read');
    await page.getByRole('button', { name: /^Add account and sign in$/ }).click();
  }

  test('an empty window says so, and the wizard validates inline with the CLI rules', async () => {
    assert.match(await page.locator('main').innerText(), /No accounts yet/);
    await axe('empty accounts');
    await page.getByRole('link', { name: 'Add account' }).first().click();
    await page.getByLabel('Issuer').fill('http://login.example.com');
    await page.getByLabel('Issuer').blur();
    await page.getByRole('button', { name: /^Add account and sign in$/ }).click();
    const text = await page.locator('form').innerText();
    assert.match(text, /give the account a name/);
    assert.match(text, /the issuer must use https/);
    assert.match(text, /the client id is required/);
    assert.equal(await page.getByLabel('Name').evaluate((e) => e === (globalThis as unknown as InPage).document.activeElement), true, 'focus moves to the first problem');
    await page.getByLabel('Preset').selectOption('github');
    assert.equal(await page.getByLabel('Scopes').inputValue(), 'repo', 'a preset fills its default scopes');
    await axe('wizard');
    assert.equal(await fitsWidth(page, 360), true, 'the wizard fits 360 px');
    await screenshots(page, 'wizard');
    await page.getByLabel('Preset').selectOption('');
    await page.getByLabel('Scopes').fill('');
    await page.getByLabel('Issuer').fill('');
    const cli = await tokentray(daemon.env, ['add', 'Bad', '--issuer', 'http://login.example.com', '--client-id', 'x']);
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /--issuer: the issuer must use https/, 'the CLI says the same');
  });

  test('the wizard adds a browser-flow account; the sign-in completes in a second tab; the countdown runs', async () => {
    await addThroughWizard('Web', 'browser');
    const link = page.getByRole('link', { name: 'Continue in browser' });
    await link.waitFor();
    await completeSignIn(context, (await link.getAttribute('href'))!);
    await page.getByText('Web is connected.').waitFor();
    await page.getByRole('link', { name: 'Back to the accounts' }).click();
    const row = accountRow(page, 'Web');
    await row.and(page.locator('[data-status="valid"]')).waitFor();
    assert.equal(await row.getAttribute('data-account-id'), 'web');
    const countdown = row.locator('[data-kind="access"] time');
    const first = await countdown.innerText();
    await page.waitForTimeout(2100);
    const second = await countdown.innerText();
    assert.notEqual(first, second, 'the countdown goes down');
    assert.match(second, /^\d+ min \d+ s$/);
    assert.match(await row.innerText(), /Refresh token: expires in/);
    assert.equal(await fitsWidth(page, 360), true, 'no sideways scrolling at 360 px');
    await axe('accounts');
    await screenshots(page, 'accounts');
  });

  test('the device flow from the wizard shows the user code; approving it in another tab connects', async () => {
    await addThroughWizard('TV', 'device');
    const code = page.getByLabel('User code');
    await code.waitFor();
    assert.match(await code.innerText(), /\S{4,}/);
    const verify = page.getByRole('link', { name: 'the verification page' });
    await approveDeviceInTab(context, (await verify.getAttribute('href'))!);
    await page.getByText('TV is connected.').waitFor();
    await page.getByRole('link', { name: 'Accounts', exact: true }).click();
    await accountRow(page, 'TV').and(page.locator('[data-status="valid"]')).waitFor();
  });

  test('machine accounts connect from the wizard without a browser; a failed first sign-in adds nothing', async () => {
    const machine = async (name: string, secret: string) => {
      await page.getByRole('link', { name: 'Add account' }).first().click();
      await page.getByLabel('Name').fill(name);
      await page.getByLabel('Flow').selectOption('client-credentials');
      await page.getByLabel('Token endpoint').fill(op.tokenEndpoint);
      await page.getByLabel('Client ID').fill(op.confidentialClient.client_id);
      await page.getByLabel('Client secret').fill(secret);
      await page.getByLabel('Scopes').fill('api:read');
      await page.getByRole('button', { name: 'Add account and connect' }).click();
    };
    await machine('Wrong secret', 'not-the-secret');
    await page.getByText('The sign-in failed, so the account was not added.').waitFor();
    assert.match(await page.getByRole('alert').filter({ hasText: 'sign-in failed' }).innerText(), /What to do: Fix the client id, secret/);
    await page.getByRole('button', { name: 'Change the settings and try again' }).click();
    assert.equal(await page.getByLabel('Name').inputValue(), 'Wrong secret', 'the form keeps what was typed');
    await page.getByRole('link', { name: 'Accounts', exact: true }).click();
    assert.equal(await accountRow(page, 'Wrong secret').count(), 0);
    await page.getByRole('link', { name: 'Add account' }).first().click();
    await page.getByLabel('Name').fill('Pasted');
    await page.getByLabel('Flow').selectOption('manual');
    await page.getByLabel('Token', { exact: true }).fill('pat-window-test-0123456789');
    await page.getByRole('button', { name: 'Add account', exact: true }).click();
    await page.getByText('Pasted is connected.').waitFor();
    await page.getByRole('link', { name: 'Back to the accounts' }).click();
    const pasted = accountRow(page, 'Pasted');
    await pasted.and(page.locator('[data-status="valid"]')).waitFor();
    assert.match(await pasted.innerText(), /Access token: no expiry known/);
    assert.equal((await tokentray(daemon.env, ['token', 'pasted'])).stdout.trim(), 'pat-window-test-0123456789');
    await tokentray(daemon.env, ['remove', 'pasted']);
    await pasted.waitFor({ state: 'detached' }); // the window hears a removal made in the CLI
  });

  test('account page: Copy token, Show claims; Remove (confirmed) clears the row and the keychain', async () => {
    await accountRow(page, 'TV').getByRole('link', { name: 'TV' }).click();
    await page.getByRole('heading', { name: 'TV' }).waitFor();
    assert.match(await page.locator('.facts').innerText(), /Device code/);
    await page.getByRole('button', { name: 'Copy token' }).click();
    await page.getByText('Token of TV copied to the clipboard.').waitFor();
    const copied = await page.evaluate(() => (globalThis as unknown as InPage).navigator.clipboard.readText());
    assert.equal((await op.introspect(copied)).active, true, 'the provider says the copied token is active');
    await page.getByRole('button', { name: 'Show claims' }).click();
    const claims = JSON.parse(await page.getByLabel('ID token claims').innerText()) as { sub: string; exp: number };
    assert.equal(claims.sub, 'alice');
    assert.equal(typeof claims.exp, 'number');
    await axe('account page');
    assert.equal(await fitsWidth(page, 360), true, 'the account page fits 360 px');
    assert.ok((await secretToolAccounts(daemon.service)).some((n) => n.startsWith('tv')));
    await page.getByRole('button', { name: 'Remove', exact: true }).click();
    await page.getByRole('button', { name: 'Remove account' }).click();
    await page.getByRole('heading', { name: 'Accounts' }).waitFor();
    await page.getByText(/Removed TV/).waitFor();
    assert.equal(await accountRow(page, 'TV').count(), 0);
    assert.deepEqual((await secretToolAccounts(daemon.service)).filter((n) => n.startsWith('tv')), [], 'no keychain item of the account is left');
    await accountRow(page, 'Web').getByRole('link', { name: 'Web' }).click();
    await page.getByRole('heading', { name: 'Web' }).waitFor();
    await screenshots(page, 'account');
  });

  test('a tool asks for a key; Approve limited to one account; the key works for it only; Revoke makes it 401', async () => {
    const machine = await tokentray(daemon.env, ['add', 'Machine', '--token-endpoint', op.tokenEndpoint, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials', '--scope', 'api:read'], op.confidentialClient.client_secret);
    assert.equal(machine.code, 0, machine.stderr);
    const asking = curl(['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', '{"name":"deploy script"}', `${daemon.url}/v1/clients`]);
    await page.getByRole('link', { name: /Local tools/ }).click();
    const pending = page.getByRole('list', { name: 'Waiting for approval' }).getByRole('listitem', { name: /^deploy script/ });
    await pending.waitFor();
    await page.getByRole('link', { name: /Local tools.*1/ }).waitFor();
    await axe('local tools');
    assert.equal(await fitsWidth(page, 360), true, 'local tools fit 360 px');
    await screenshots(page, 'tools');
    await pending.getByLabel('Web').check();
    await pending.getByRole('button', { name: 'Approve' }).click();
    const granted = await asking;
    assert.equal(granted.status, 200);
    const { key } = granted.json as { key: string };
    const forWeb = await curl(['-H', `Authorization: Bearer ${key}`, `${daemon.url}/v1/accounts/web/token`]);
    assert.equal(forWeb.status, 200);
    const forMachine = await curl(['-H', `Authorization: Bearer ${key}`, `${daemon.url}/v1/accounts/machine/token`]);
    assert.equal(forMachine.status, 403);
    assert.equal((forMachine.json as { error: { code: string } }).error.code, 'account_not_granted');
    const approved = page.getByRole('list', { name: 'Approved tools' }).getByRole('listitem', { name: /^deploy script/ });
    await approved.getByText(/last use: (now|\d+ s ago)/).waitFor();
    await approved.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('list', { name: 'Denied and revoked tools' }).getByText('deploy script — revoked').waitFor();
    const revoked = await curl(['-H', `Authorization: Bearer ${key}`, `${daemon.url}/v1/accounts/web/token`]);
    assert.equal(revoked.status, 401);
    const denying = curl(['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', '{"name":"stranger"}', `${daemon.url}/v1/clients`]);
    await page.getByRole('list', { name: 'Waiting for approval' }).getByRole('listitem', { name: /^stranger/ }).getByRole('button', { name: 'Deny' }).click();
    assert.equal((await denying).status, 403);
  });

  test('the activity log lists who got which token, newest first, filtered by account and tool', async () => {
    await page.getByRole('link', { name: 'Activity' }).click();
    const table = page.getByRole('table', { name: /Activity log/ });
    await table.waitFor();
    const rows = await table.locator('tbody tr').allInnerTexts();
    assert.match(rows[0]!, /deploy script\s+Web\s+got a token/, 'the newest entry first');
    assert.ok(rows.some((r) => /This window\s+tv\s+copied a token/.test(r)));
    await page.getByLabel('Tool').selectOption({ label: 'This window' });
    assert.ok((await table.locator('tbody tr').allInnerTexts()).every((r) => /This window/.test(r)));
    await page.getByLabel('Tool').selectOption('');
    await page.getByLabel('Account').selectOption('web');
    assert.ok((await table.locator('tbody tr').allInnerTexts()).every((r) => /\tWeb\t|Web/.test(r)));
    const live = spawn(process.execPath, ['bin/tokentray.cjs', 'token', 'web'], { env: daemon.env, stdio: 'ignore' });
    await new Promise((resolve) => live.on('exit', resolve));
    await table.locator('tbody tr').first().getByText('Tokentray CLI').waitFor();
    await axe('activity');
  });

  test('Lock: the token route answers 423 and `tokentray token` exits 7 until Unlock', async () => {
    await page.getByRole('button', { name: 'Lock' }).click();
    await page.getByRole('button', { name: 'Unlock' }).waitFor();
    const locked = await curl(['-H', `Authorization: Bearer ${daemon.key}`, `${daemon.url}/v1/accounts/web/token`]);
    assert.equal(locked.status, 423);
    assert.equal((locked.json as { error: { code: string } }).error.code, 'locked');
    assert.equal((await tokentray(daemon.env, ['token', 'web'])).code, 7);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('button', { name: 'Lock' }).waitFor();
    assert.equal((await tokentray(daemon.env, ['token', 'web'])).code, 0);
    const cli = await tokentray(daemon.env, ['lock']);
    assert.equal(cli.code, 0);
    await page.getByRole('button', { name: 'Unlock' }).waitFor(); // the window hears the CLI's lock
    assert.equal((await tokentray(daemon.env, ['unlock'])).code, 0);
    await page.getByRole('button', { name: 'Lock' }).waitFor();
  });

  test('settings are kept by the broker', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    const startAtLogin = page.getByLabel(/Start Tokentray when I log in/);
    assert.equal(await startAtLogin.isChecked(), false);
    await startAtLogin.click();
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): Array<{ checked: boolean }> } }).document.querySelectorAll('.settings input')[1]?.checked === true);
    await page.reload();
    await page.getByRole('link', { name: 'Settings' }).click();
    assert.equal(await page.getByLabel(/Start Tokentray when I log in/).isChecked(), true);
    await axe('settings');
  });

  test('keyboard: a skip link first, then the navigation, each with a visible focus ring', async () => {
    await page.getByRole('link', { name: 'Accounts', exact: true }).click();
    await page.reload();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    const focused = () => page.evaluate(() => {
      const w = globalThis as unknown as { document: { activeElement: { textContent: string } | null }; getComputedStyle(e: unknown): { outlineStyle: string; outlineWidth: string } };
      const el = w.document.activeElement;
      const style = el ? w.getComputedStyle(el) : null;
      return { text: el?.textContent ?? '', outline: style ? `${style.outlineStyle} ${style.outlineWidth}` : '' };
    });
    await page.keyboard.press('Tab');
    assert.equal((await focused()).text, 'Skip to content');
    await page.keyboard.press('Tab');
    const nav = await focused();
    assert.equal(nav.text, 'Accounts');
    assert.match(nav.outline, /^solid [1-9]/, 'the focus ring shows');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Add account' }).waitFor();
  });

  test('no serious or critical accessibility violation in any view', () => {
    assert.deepEqual(violations, []);
  });

  test('canary: no refresh token anywhere the window reaches, no access token but the copied one', async () => {
    const accessTokens: string[] = [];
    for (const id of ['web', 'machine']) accessTokens.push((await tokentray(daemon.env, ['token', id])).stdout.trim());
    assert.ok(op.issuedRefreshTokens.length >= 2);
    const storage = await page.evaluate(async () => {
      const w = globalThis as unknown as InPage;
      return JSON.stringify({ local: { ...w.localStorage }, session: { ...w.sessionStorage }, idb: (await w.indexedDB.databases()).map((d) => d.name), cookies: w.document.cookie });
    });
    const cookies = JSON.stringify(await context.cookies());
    const dom = await page.content();
    const seen = [...answers.filter((a) => !a.startsWith('/ui/api/copyToken ')), events.text(), storage, cookies, dom].join('\n');
    assert.ok(answers.length > 20, 'the window made its calls');
    assert.match(events.text(), /"type":"sign_in"/, 'the event stream was heard');
    for (const token of op.issuedRefreshTokens) assert.equal(answers.join('\n').includes(token) || seen.includes(token), false, 'a refresh token reached the window');
    for (const token of accessTokens) assert.equal(seen.includes(token), false, 'an access token reached the window outside Copy token');
    assert.equal(JSON.parse(storage).cookies, '', 'the session cookie is HttpOnly');
  });
});
