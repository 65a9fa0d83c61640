// The same built renderer over the desktop transport: BrokerApi through a preload-style bridge
// (`window.tokentray`). Electron cannot run here, so a stand-in carries each call to a real
// broker runtime exactly as main/electron/ipc.ts does (answerIpc), and its events back.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startBrokerRuntime, type BrokerRuntime } from '../../main/core/daemon/broker-runtime.ts';
import { createLogger } from '../../main/core/log/logger.ts';
import { answerIpc } from '../../main/core/ui/ipc-answer.ts';
import { privateService, realKeychain, secretToolAccounts } from '../fixtures/keychain.ts';
import { launchChromium } from '../fixtures/provider/browser.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';
import { staticServer } from '../fixtures/static-server.ts';
import { accountRow } from '../fixtures/web-window.ts';

describe('the window over the desktop bridge', () => {
  let op: TestProvider;
  let runtime: BrokerRuntime;
  let browser: Browser;
  let page: Page;
  let server: Awaited<ReturnType<typeof staticServer>>;
  const service = privateService('bridge');
  const calls: string[] = [];

  before(async () => {
    op = await TestProvider.start();
    const { logger, redactor } = createLogger({ level: 'warn' });
    runtime = await startBrokerRuntime({ home: await mkdtemp(join(tmpdir(), 'tt-bridge-')), keychainService: service, version: 'test', logger, redactor, browser: { open: async () => undefined }, watchSleep: false });
    server = await staticServer('dist/ui');
    browser = await launchChromium();
    page = await browser.newPage();
    await page.exposeFunction('__tokentrayIpc', (call: string, input: unknown) => {
      calls.push(call);
      return answerIpc(runtime.service, call, input);
    });
    // What preload exposes: calls over IPC, events from one channel.
    await page.addInitScript(() => {
      const w = globalThis as unknown as { tokentray: unknown; __tokentrayIpc: (c: string, i: unknown) => Promise<unknown>; __tokentrayEmit: (e: unknown) => void };
      const listeners = new Set<(e: unknown) => void>();
      w.__tokentrayEmit = (event) => listeners.forEach((l) => l(event));
      w.tokentray = {
        call: (call: string, input: unknown) => w.__tokentrayIpc(call, input),
        subscribe: (listener: (e: unknown) => void) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
      };
    });
    runtime.service.subscribe((event) => void page.evaluate((e) => (globalThis as unknown as { __tokentrayEmit: (e: unknown) => void }).__tokentrayEmit(e), event).catch(() => undefined));
    await page.goto(`${server.url}/index.html`);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  });
  after(async () => {
    await browser?.close();
    server?.close();
    await runtime?.stop();
    for (const name of await secretToolAccounts(service).catch(() => [])) await realKeychain(service).delete(name).catch(() => undefined);
    await op?.close();
  });

  test('an account added in the broker appears live; Refresh and Lock travel over the bridge', async () => {
    const view = await runtime.broker.addAccount({ id: 'machine', name: 'Machine', flow: 'client-credentials', provider: { tokenEndpoint: op.tokenEndpoint }, clientId: op.confidentialClient.client_id, scopes: ['api:read'] }, { clientSecret: op.confidentialClient.client_secret });
    await runtime.broker.signIn(view.id);
    const row = accountRow(page, 'Machine');
    await row.and(page.locator('[data-status="valid"]')).waitFor();
    const before = op.requests('client_credentials');
    await row.getByRole('button', { name: 'Refresh' }).click();
    await page.getByText('Machine refreshed').waitFor();
    assert.equal(op.requests('client_credentials'), before + 1);
    await page.getByRole('button', { name: 'Lock' }).click();
    await page.getByRole('button', { name: 'Unlock' }).waitFor();
    assert.equal(runtime.lock.locked, true);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('button', { name: 'Lock' }).waitFor();
    assert.ok(['overview', 'listAccounts', 'refresh', 'setLocked'].every((c) => calls.includes(c)), calls.join(','));
  });

  test('an error keeps its code across the bridge and shows in plain words', async () => {
    const answer = await answerIpc(runtime.service, 'refresh', { id: 'nobody' });
    assert.deepEqual(answer.ok ? null : answer.error.code, 'account_not_found');
    assert.deepEqual(((await answerIpc(runtime.service, 'getAccount', { id: '../x' })) as { ok: false; error: { code: string } }).error.code, 'bad_request');
    assert.equal(((await answerIpc(runtime.service, 'rmRf', {})) as { ok: false; error: { code: string } }).error.code, 'not_found');
  });
});
