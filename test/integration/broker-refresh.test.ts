import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { brokerHarness, eventually, sleep, type Harness } from '../fixtures/broker-harness.ts';
import { storedRecord } from '../fixtures/keychain.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';

const cleanup: Array<() => Promise<void>> = [];
after(async () => { for (const c of cleanup.reverse()) await c(); });

async function setUp(settings: Partial<TestProvider['settings']>, scopes = ['openid', 'offline_access', 'api:read']): Promise<{ op: TestProvider; h: Harness }> {
  const op = await TestProvider.start(settings);
  const h = await brokerHarness(op);
  cleanup.push(() => op.close(), () => h.close());
  await h.broker.addAccount({ id: 'acct', name: 'Account', flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes });
  await h.broker.signIn('acct');
  return { op, h };
}

describe('background refresh against the real provider', () => {
  test('3 s access tokens for 30 s: every token served is active, refreshes rotate, no refresh token is reused', async () => {
    const { op, h } = await setUp({ accessTokenTtl: 3, rotateRefreshTokens: true });
    const refreshesBefore = op.requests('refresh_token');
    const issuedBefore = op.issuedRefreshTokens.length;
    const served = new Set<string>();
    const inactive: string[] = [];
    let calls = 0;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const token = await h.broker.getToken('acct');
      calls++;
      served.add(token.accessToken);
      const introspection = await op.introspect(token.accessToken);
      if (!introspection.active) inactive.push(`${new Date().toISOString()} expires_in=${token.expiresIn}`);
      await sleep(200);
    }
    const refreshes = op.requests('refresh_token') - refreshesBefore;
    console.log(`# 3 s tokens for 30 s: ${calls} getToken calls, ${refreshes} refreshes, ${served.size} distinct tokens, ${h.broker.stats.onDemandRefreshes} on-demand waits, ${h.broker.stats.backgroundRefreshes} background refreshes`);
    assert.deepEqual(inactive, [], 'every token served was active at the provider');
    assert.ok(refreshes >= 10, `expected background refreshes roughly every 1.5 s, saw ${refreshes}`);
    assert.ok(h.broker.stats.onDemandRefreshes <= 2, `consumers waited for ${h.broker.stats.onDemandRefreshes} on-demand refreshes`);
    assert.equal(op.counters.reusedRefreshTokens, 0, 'the provider never saw a reused refresh token');
    assert.equal(op.counters.errors['invalid_grant'] ?? 0, 0);
    // A background refresh may be running at this very moment; the account settles on valid.
    await eventually('valid', () => h.broker.view('acct').status === 'valid', 3_000);
    h.broker.stop(); // no refresh may start while the counts are compared
    await h.broker.settle();
    const issued = op.issuedRefreshTokens.slice(issuedBefore);
    assert.equal(new Set(issued).size, op.requests('refresh_token') - refreshesBefore, 'every refresh rotated the refresh token');
    assert.equal((await storedRecord(h.service, 'acct'))?.refreshToken, issued.at(-1), 'the keychain holds the newest one');
  });

  test('500 concurrent getToken calls on an expired token: exactly one refresh, one new token for all', async () => {
    const { op, h } = await setUp({ accessTokenTtl: 2 });
    h.broker.stop(); // no background refresh: the token must be expired when the burst comes
    const restarted = await brokerHarness(op, { home: h.home, service: h.service });
    cleanup.push(() => restarted.close());
    restarted.broker.stop();
    await sleep(2_300);
    const before = op.requests('refresh_token');
    const tokens = await Promise.all(Array.from({ length: 500 }, () => restarted.broker.getToken('acct')));
    assert.equal(op.requests('refresh_token') - before, 1);
    assert.equal(new Set(tokens.map((t) => t.accessToken)).size, 1);
    assert.equal((await op.introspect(tokens[0]!.accessToken)).active, true);
  });

  test('keep-alive: a 20 s refresh token is renewed before it expires though nobody asks for a token', async () => {
    const { op, h } = await setUp({ accessTokenTtl: 3600, refreshTokenTtl: 20 });
    const view = h.broker.view('acct');
    const rtExpiry = Date.parse(view.refreshTokenExpiresAt!);
    assert.ok(Math.abs(rtExpiry - (Date.now() + 20_000)) < 3_000, 'refresh_token_expires_in is honoured');
    assert.ok(Date.parse(view.nextRefreshAt!) < rtExpiry, 'the next refresh is planned before the refresh token expires');
    const before = op.requests('refresh_token');
    await eventually('a keep-alive refresh', () => op.requests('refresh_token') > before, 25_000, 100);
    assert.ok(Date.now() < rtExpiry, 'it happened before the refresh token expired');
    await eventually('the new refresh token lives longer', () => Date.parse(h.broker.view('acct').refreshTokenExpiresAt!) > rtExpiry + 10_000, 3_000);
    await eventually('valid after the keep-alive', () => h.broker.view('acct').status === 'valid', 3_000);
    assert.equal(op.counters.errors['invalid_grant'] ?? 0, 0);
  });

  test('no refresh token: served until expiry, then reauth_required without any refresh request', async () => {
    const { op, h } = await setUp({ accessTokenTtl: 3, issueRefreshTokens: false });
    const statuses: string[] = [];
    h.broker.onStatus((c) => statuses.push(c.account.status));
    const before = op.requests('refresh_token');
    const token = await h.broker.getToken('acct', { minTtlSeconds: 0 });
    assert.ok(token.expiresIn !== null && token.expiresIn <= 3);
    // The status is announced once accounts.json has it on disk, a moment after the view shows it.
    await eventually('reauth_required announced at expiry', () => statuses.length > 0, 6_000);
    assert.equal(h.broker.view('acct').status, 'reauth_required');
    await assert.rejects(h.broker.getToken('acct'), { code: 'reauth_required' });
    assert.equal(op.requests('refresh_token'), before);
    assert.deepEqual(statuses, ['reauth_required']);
  });

  test('a scope the grant lacks needs a sign-in; a refresh never asks for more scopes', async () => {
    const { op, h } = await setUp({ accessTokenTtl: 600 }, ['openid', 'offline_access', 'api:read']);
    await assert.rejects(h.broker.getToken('acct', { scopes: ['api:write'] }), (e: { code: string; message: string }) => e.code === 'reauth_required' && /api:write/.test(e.message));
    assert.ok((await h.broker.getToken('acct', { scopes: ['api:read'] })).accessToken);
    await h.broker.refresh('acct');
    assert.equal(op.lastRequest['refresh_token']?.['scope'], undefined, 'no scope parameter on refresh');
    assert.equal(h.broker.view('acct').status, 'valid', 'asking for a missing scope does not break the account');
  });
});
