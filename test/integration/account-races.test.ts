// Sign-in and refresh of the same account at the same time: the newer grant wins.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { AccountStatus } from '../../shared/status.ts';
import { brokerHarness, eventually } from '../fixtures/broker-harness.ts';
import { secretToolAccounts, storedRecord } from '../fixtures/keychain.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';

const cleanup: Array<() => Promise<void>> = [];
after(async () => { for (const c of cleanup.reverse()) await c(); });

describe('a sign-in and a refresh at the same time', () => {
  test('a sign-in completed while a refresh is in flight is neither overwritten by the older grant nor flipped afterwards', async () => {
    const op = await TestProvider.start({ accessTokenTtl: 600 });
    const h = await brokerHarness(op, { requestTimeoutMs: 20_000 });
    cleanup.push(() => op.close(), () => h.close());
    await h.broker.addAccount({ id: 'acct', name: 'Account', flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid', 'offline_access'] });
    await h.broker.signIn('acct');
    const seen: AccountStatus[] = [];
    h.broker.onStatus((c) => seen.push(c.account.status));

    // The provider is slow for the refresh only: it answers (with the old grant's rotation) 6 s later.
    await op.setFault({ mode: 'delay', delayMs: 6_000, times: 1 });
    const refreshesBefore = op.requests('refresh_token');
    const refreshing = h.broker.refresh('acct').then((v) => v, (e: unknown) => e);
    await eventually('the refresh was sent', () => op.requests('refresh_token') === refreshesBefore + 1);
    const signedIn = await h.broker.signIn('acct'); // the person signs in again meanwhile
    assert.equal(signedIn.status, 'valid');
    const fromSignIn = op.issuedRefreshTokens.at(-1)!;
    await refreshing;
    await eventually('the delayed refresh was answered', () => op.issuedRefreshTokens.length >= 2 && op.issuedRefreshTokens.at(-1) !== fromSignIn, 10_000);
    await h.broker.settle();
    assert.equal((await storedRecord(h.service, 'acct'))?.refreshToken, fromSignIn, 'the keychain holds the sign-in’s grant, not the older one');
    assert.equal(h.broker.view('acct').status, 'valid');
    assert.ok(!seen.slice(seen.lastIndexOf('valid')).some((s) => s === 'reauth_required' || s === 'retrying'), seen.join(' → '));
    // And the sign-in's grant still works: the next refresh uses it.
    await h.broker.refresh('acct');
    assert.equal(h.broker.view('acct').status, 'valid');
    assert.equal(op.counters.reusedRefreshTokens, 0);
  });

  test('a remove during a refresh waits for it, revokes the newest refresh token, and leaves no keychain item', async () => {
    // A provider that revokes only the token it is given, not the whole grant, as many do.
    const op = await TestProvider.start({ accessTokenTtl: 600, revokeGrantOnRevocation: false });
    const h = await brokerHarness(op, { requestTimeoutMs: 20_000 });
    cleanup.push(() => op.close(), () => h.close());
    await h.broker.addAccount({ id: 'gone', name: 'Gone', flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid', 'offline_access'] });
    await h.broker.signIn('gone');
    const signedIn = op.issuedRefreshTokens.at(-1)!;
    // The provider rotates at once; its answer (the new refresh token) arrives 3 s later.
    await op.setFault({ mode: 'late', delayMs: 3_000, times: 1 });
    const before = op.requests('refresh_token');
    const refreshing = h.broker.refresh('gone').then((v) => v, (e: unknown) => e);
    await eventually('the refresh was sent', () => op.requests('refresh_token') === before + 1);
    const removed = await h.broker.remove('gone');
    assert.equal(removed.revoked, true);
    await refreshing;
    const rotated = op.issuedRefreshTokens.at(-1)!;
    assert.notEqual(rotated, signedIn, 'the refresh rotated the refresh token');
    assert.equal((await op.introspect(rotated)).active, false, 'the newest refresh token was revoked');
    await h.broker.settle();
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual((await secretToolAccounts(h.service)).filter((n) => n.startsWith('gone')), [], 'no keychain item holds the new refresh token');
    assert.equal(h.broker.list().length, 0);
  });

  test('a client secret changed while a refresh is in flight is kept: the refresh lands first, the change after', async () => {
    const op = await TestProvider.start({ accessTokenTtl: 600 });
    const h = await brokerHarness(op, { requestTimeoutMs: 20_000 });
    cleanup.push(() => op.close(), () => h.close());
    await h.broker.addAccount(
      { id: 'conf', name: 'Confidential', flow: 'browser', provider: { issuer: op.issuer }, clientId: op.confidentialClient.client_id, scopes: ['openid', 'offline_access'] },
      { clientSecret: op.confidentialClient.client_secret },
    );
    await h.broker.signIn('conf');
    await op.setFault({ mode: 'delay', delayMs: 3_000, times: 1 });
    const before = op.requests('refresh_token');
    const refreshing = h.broker.refresh('conf');
    await eventually('the refresh was sent', () => op.requests('refresh_token') === before + 1);
    // The person rotates the client secret meanwhile (here: to a wrong one, which is easy to spot).
    await h.broker.reconfigure('conf', (a) => a, { clientSecret: 'the-new-secret' });
    assert.equal((await refreshing).status, 'valid', 'the refresh sent with the old secret landed');
    const stored = await storedRecord(h.service, 'conf');
    assert.equal(stored?.clientSecret, 'the-new-secret', 'the keychain holds the new secret, not the one the refresh started with');
    assert.equal(stored?.refreshToken, op.issuedRefreshTokens.at(-1), 'and the rotated refresh token');
    await assert.rejects(h.broker.refresh('conf'), { code: 'misconfigured' }, 'the next refresh uses the new (wrong) secret');
  });

  test('two removals of one account at once share one: one revocation, the same answer, no error', async () => {
    const op = await TestProvider.start({ accessTokenTtl: 600 });
    const h = await brokerHarness(op);
    cleanup.push(() => op.close(), () => h.close());
    await h.broker.addAccount({ id: 'twice', name: 'Twice', flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid', 'offline_access'] });
    await h.broker.signIn('twice');
    const revocations = op.requests('(revocation)');
    const [a, b] = await Promise.all([h.broker.remove('twice'), h.broker.remove('twice')]);
    assert.deepEqual(a, b);
    assert.equal(a.revoked, true);
    assert.equal(op.requests('(revocation)') - revocations, 1, 'one revocation request');
    assert.deepEqual(h.broker.list(), []);
  });
});

