import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SignInEvent } from '../../main/core/oauth/sign-in.ts';
import type { AccountStatus } from '../../shared/status.ts';
import { brokerHarness, eventually, type Harness } from '../fixtures/broker-harness.ts';
import { secretToolAccounts } from '../fixtures/keychain.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';

describe('account lifecycle', () => {
  let op: TestProvider;
  const harnesses: Harness[] = [];
  before(async () => { op = await TestProvider.start({ accessTokenTtl: 600 }); });
  after(async () => {
    for (const h of harnesses) await h.close();
    await op.close();
  });
  async function signedIn(id: string, options: Parameters<typeof brokerHarness>[1] = {}): Promise<Harness> {
    const h = await brokerHarness(op, options);
    harnesses.push(h);
    await h.broker.addAccount({ id, name: id, flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid', 'offline_access'] });
    await h.broker.signIn(id);
    return h;
  }

  test('--no-browser hands the URL out instead of opening a browser', async () => {
    const h = await brokerHarness(op, { browser: { open: async () => { throw new Error('must not open a browser'); } } });
    harnesses.push(h);
    await h.broker.addAccount({ id: 'headless', name: 'Headless', flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid'] });
    const events: SignInEvent[] = [];
    const signingIn = h.broker.signIn('headless', {
      noBrowser: true,
      onEvent: (e) => {
        events.push(e);
        if (e.event === 'authorize') void op.signIn(e.url); // the person opens it elsewhere
      },
    });
    assert.equal((await signingIn).status, 'valid');
    assert.equal(events.length, 1);
  });

  test('a new sign-in cancels the one still waiting for the person; its loopback listener closes', async () => {
    const h = await brokerHarness(op, { browser: { open: async () => undefined } });
    harnesses.push(h);
    await h.broker.addAccount({ id: 'twice', name: 'Twice', flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid'] });
    let firstUrl = '';
    const first = h.broker.signIn('twice', { noBrowser: true, onEvent: (e) => { if (e.event === 'authorize') firstUrl = e.url; } });
    while (!firstUrl) await new Promise((r) => setTimeout(r, 20));
    const second = h.broker.signIn('twice', { noBrowser: true, onEvent: (e) => { if (e.event === 'authorize') void op.signIn(e.url); } });
    await assert.rejects(first, (e: { code: string; message: string }) => e.code === 'sign_in_failed' && /cancelled/.test(e.message));
    const redirect = new URL(firstUrl).searchParams.get('redirect_uri')!;
    await assert.rejects(fetch(redirect), 'the first loopback listener is closed');
    assert.equal((await second).status, 'valid');
  });

  test('remove revokes at the provider, then deletes every local trace', async () => {
    const h = await signedIn('gone');
    const record = await h.vault.read('gone');
    assert.equal((await op.introspect(record!.refreshToken!)).active, true);
    const result = await h.broker.remove('gone');
    assert.deepEqual(result, { revoked: true, note: null });
    assert.equal((await op.introspect(record!.refreshToken!)).active, false, 'revoked at the provider');
    assert.deepEqual(await secretToolAccounts(h.service), []);
    assert.doesNotMatch(await readFile(join(h.home, 'accounts.json'), 'utf8'), /"gone"/);
    assert.throws(() => h.broker.view('gone'), { code: 'account_not_found' });
  });

  test('remove retries a 503 from the revocation endpoint; --keep-remote skips revocation', async () => {
    const h = await signedIn('flaky-revoke');
    const rt = (await h.vault.read('flaky-revoke'))!.refreshToken!;
    await op.setFault({ mode: '503', retryAfter: 0, times: 2, endpoints: ['revocation'] });
    const faulted = op.counters.faulted['503'] ?? 0;
    assert.deepEqual(await h.broker.remove('flaky-revoke'), { revoked: true, note: null });
    assert.equal((op.counters.faulted['503'] ?? 0) - faulted, 2, 'two 503s, then the third attempt revoked');
    assert.equal((await op.introspect(rt)).active, false);
    const kept = await signedIn('kept');
    const keptRt = (await kept.vault.read('kept'))!.refreshToken!;
    assert.deepEqual(await kept.broker.remove('kept', { keepRemote: true }), { revoked: false, note: null });
    assert.equal((await op.introspect(keptRt)).active, true, 'the grant at the provider is left alone');
  });

  test('a provider without a revocation endpoint: deleted locally, and the answer says so', async () => {
    const h = await brokerHarness(op);
    harnesses.push(h);
    await h.broker.addAccount({ id: 'cc', name: 'cc', flow: 'client-credentials', provider: { tokenEndpoint: op.tokenEndpoint }, clientId: op.confidentialClient.client_id, scopes: ['api:read'] }, { clientSecret: op.confidentialClient.client_secret });
    await h.broker.signIn('cc');
    const result = await h.broker.remove('cc');
    assert.equal(result.revoked, false);
    assert.match(result.note ?? '', /no revocation endpoint/);
    assert.deepEqual(await secretToolAccounts(h.service), []);
  });

  test('resume() re-checks at once an account that was waiting to retry', async () => {
    const h = await signedIn('sleepy');
    await op.setFault({ mode: '503', retryAfter: 600 });
    await assert.rejects(h.broker.refresh('sleepy'), { code: 'provider_unavailable' });
    const view = h.broker.view('sleepy');
    assert.equal(view.status, 'retrying');
    assert.ok(Date.parse(view.nextRefreshAt!) > Date.now() + 500_000, 'Retry-After is honoured');
    await op.setFault(null);
    const before = op.requests('refresh_token');
    await h.broker.resume();
    await eventually('valid again right after resume()', () => h.broker.view('sleepy').status === 'valid', 3_000);
    assert.equal(op.requests('refresh_token'), before + 1);
  });

  test('a broker that died mid-refresh: the next one shows what the tokens say, not refreshing', async () => {
    const h = await signedIn('crashed');
    h.broker.stop();
    await h.accounts.setState('crashed', { status: 'refreshing' }); // what accounts.json says after the crash
    const before = op.requests('refresh_token');
    const next = await h.restart();
    harnesses.push(next);
    assert.equal(next.broker.view('crashed').status, 'valid', 'the token is still good for 10 minutes');
    assert.equal(op.requests('refresh_token'), before, 'and it is not refreshed early');
  });

  test('reauth_required → valid by signing in again; every status change is announced', async () => {
    const h = await signedIn('again');
    const seen: Array<[AccountStatus, AccountStatus]> = [];
    h.broker.onStatus((c) => seen.push([c.previous, c.account.status]));
    await op.revokeGrantOf((await h.vault.read('again'))!.refreshToken!);
    await assert.rejects(h.broker.refresh('again'), { code: 'reauth_required' });
    assert.equal(h.broker.view('again').status, 'reauth_required');
    await h.broker.signIn('again');
    assert.equal(h.broker.view('again').status, 'valid');
    assert.deepEqual(seen, [['valid', 'refreshing'], ['refreshing', 'reauth_required'], ['reauth_required', 'valid']]);
  });
});
