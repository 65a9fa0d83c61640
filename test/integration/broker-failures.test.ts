import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { AccountStatus } from '../../shared/status.ts';
import { brokerHarness, eventually, sleep, type Harness } from '../fixtures/broker-harness.ts';
import { FaultyStore, storedRecord } from '../fixtures/keychain.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';

const cleanup: Array<() => Promise<void>> = [];
after(async () => { for (const c of cleanup.reverse()) await c(); });

async function setUp(settings: Partial<TestProvider['settings']>, options: Parameters<typeof brokerHarness>[1] = {}, confidential = false): Promise<{ op: TestProvider; h: Harness }> {
  const op = await TestProvider.start(settings);
  const h = await brokerHarness(op, options);
  cleanup.push(() => op.close(), () => h.close());
  const client = confidential ? op.confidentialClient : op.nativeClient;
  await h.broker.addAccount(
    { id: 'acct', name: 'Account', flow: 'browser', provider: { issuer: op.issuer }, clientId: client.client_id, scopes: ['openid', 'offline_access'] },
    confidential ? { clientSecret: op.confidentialClient.client_secret } : {},
  );
  await h.broker.signIn('acct');
  return { op, h };
}

/** The refresh token as the keychain holds it now, read through a fresh vault. */
async function storedRefreshToken(h: Harness): Promise<string | null> {
  return (await storedRecord(h.service, 'acct'))?.refreshToken ?? null;
}

function watchStatuses(h: Harness): AccountStatus[] {
  const seen: AccountStatus[] = [];
  h.broker.onStatus((c) => seen.push(c.account.status));
  return seen;
}

describe('provider failures', () => {
  test('503, then refused connections, then a hang, longer than the token lifetime: never reauth_required, recovers by itself', async () => {
    const { op, h } = await setUp({ accessTokenTtl: 3 });
    const seen = watchStatuses(h);
    await op.setFault({ mode: '503', retryAfter: 1 });
    const rt = await storedRefreshToken(h);
    const servedDuringOutage: Array<{ at: number; expiresIn: number | null }> = [];
    const unavailableMs: number[] = [];
    const phases: Array<['503' | 'refuse' | 'hang', number]> = [['503', 2_500], ['refuse', 2_500], ['hang', 3_000]];
    for (const [mode, ms] of phases) {
      await op.setFault({ mode, retryAfter: 1 });
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const started = Date.now();
        try {
          const token = await h.broker.getToken('acct');
          servedDuringOutage.push({ at: started, expiresIn: token.expiresIn });
        } catch (error) {
          assert.equal((error as { code: string }).code, 'provider_unavailable');
          unavailableMs.push(Date.now() - started);
        }
        assert.notEqual(h.broker.view('acct').status, 'reauth_required');
        await sleep(250);
      }
    }
    const duringOutage = h.broker.view('acct');
    // During the hang a refresh may be outstanding ('refreshing'); otherwise it waits to retry.
    assert.ok(['retrying', 'expired', 'refreshing'].includes(duringOutage.status), duringOutage.status);
    assert.equal(duringOutage.lastError?.code, 'provider_unavailable');
    assert.ok(seen.every((s) => ['refreshing', 'retrying', 'expired', 'valid'].includes(s)), seen.join(' → '));
    assert.ok(seen.includes('expired'), `the token expired during the outage: ${seen.join(' → ')}`);
    assert.ok(unavailableMs.length > 0 && Math.max(...unavailableMs) < 10_000, `503 answers took ${Math.max(...unavailableMs)} ms at most`);
    assert.equal(await storedRefreshToken(h), rt, 'the refresh token is unchanged');
    assert.equal(op.counters.reusedRefreshTokens, 0);
    await op.setFault(null);
    const recoveredBy = Date.now();
    await eventually('valid again after the outage', () => h.broker.view('acct').status === 'valid', 2_000 + 6_000);
    console.log(`# outage: ${servedDuringOutage.length} tokens served while still valid, ${unavailableMs.length} answered unavailable (max ${Math.max(...unavailableMs)} ms), recovered ${Date.now() - recoveredBy} ms after the provider came back; statuses ${[...new Set(seen)].join(', ')}`);
    assert.ok(!seen.includes('reauth_required') && !seen.includes('misconfigured'));
    const token = await h.broker.getToken('acct');
    assert.equal((await op.introspect(token.accessToken)).active, true);
  });

  test('a timeout after the request was sent is retried once, at once, with the same refresh token', async () => {
    const { op, h } = await setUp({ accessTokenTtl: 600 });
    await op.setFault({ mode: 'hang', times: 1 });
    const before = op.requests('refresh_token');
    const started = Date.now();
    await h.broker.refresh('acct');
    assert.equal(op.requests('refresh_token') - before, 2);
    assert.ok(Date.now() - started < 4_000, 'retried at once after the 2 s timeout');
    assert.equal(h.broker.view('acct').status, 'valid');
    assert.equal(op.counters.reusedRefreshTokens, 0);
  });

  test('a 4xx page without an OAuth error (a proxy\'s 404, 407, a 408) is transient: retrying, never misconfigured; recovers', async () => {
    const { op, h } = await setUp({ accessTokenTtl: 600 });
    const seen = watchStatuses(h);
    for (const status of [404, 407, 408]) {
      // (fetch itself turns a 407 into a network error after the request went out: it is retried once at once)
      await op.setFault({ mode: 'html', status, times: 2 });
      await assert.rejects(h.broker.refresh('acct'), { code: 'provider_unavailable' });
      const view = h.broker.view('acct');
      assert.equal(view.status, 'retrying', `HTTP ${status}`);
      if (status !== 407) assert.match(view.lastError!.message, new RegExp(`HTTP ${status} without an OAuth error`));
      assert.ok(view.nextRefreshAt, 'a retry is planned');
    }
    await eventually('valid again once the page is gone', async () => h.broker.view('acct').status === 'valid', 20_000);
    assert.ok(!seen.includes('misconfigured') && !seen.includes('reauth_required'), seen.join(' → '));
  });

  test('grant revoked at the provider: reauth_required after one refresh request, none over the next 30 s', async () => {
    const { op, h } = await setUp({ accessTokenTtl: 3 });
    await op.revokeGrantOf((await storedRefreshToken(h))!);
    const before = op.requests('refresh_token');
    await eventually('reauth_required', () => h.broker.view('acct').status === 'reauth_required', 8_000);
    assert.equal(op.requests('refresh_token') - before, 1);
    assert.equal(h.broker.view('acct').lastError?.code, 'invalid_grant');
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      await assert.rejects(h.broker.getToken('acct'), { code: 'reauth_required' });
      await assert.rejects(h.broker.refresh('acct'), { code: 'reauth_required' });
      await sleep(1_000);
    }
    assert.equal(op.requests('refresh_token') - before, 1, 'no further requests');
  });

  test('invalid_client: misconfigured, refresh token kept; after the fix a refresh works without a new sign-in', async () => {
    const { op, h } = await setUp({ accessTokenTtl: 600 }, {}, true);
    const rt = await storedRefreshToken(h);
    const signIns = op.requests('authorization_code');
    await h.broker.reconfigure('acct', (a) => a, { clientSecret: 'not-the-secret' });
    await assert.rejects(h.broker.refresh('acct'), { code: 'misconfigured' });
    const view = h.broker.view('acct');
    assert.equal(view.status, 'misconfigured');
    assert.match(view.lastError!.message, /invalid_client.*client secret/);
    assert.equal(await storedRefreshToken(h), rt, 'the refresh token is kept');
    // No retry loop while misconfigured.
    const attempts = op.requests('refresh_token');
    await sleep(1_500);
    assert.equal(op.requests('refresh_token'), attempts);
    // The still-valid access token is served meanwhile.
    assert.ok((await h.broker.getToken('acct')).accessToken);
    const announced: string[] = [];
    h.broker.onStatus((c) => announced.push(`${c.previous}→${c.account.status}`));
    await h.broker.reconfigure('acct', (a) => a, { clientSecret: op.confidentialClient.client_secret });
    assert.deepEqual(announced, ['misconfigured→valid'], 'the fix is announced (the access token is still valid)');
    await h.broker.refresh('acct');
    assert.equal(h.broker.view('acct').status, 'valid');
    assert.equal(op.requests('authorization_code'), signIns, 'no new sign-in');
    assert.notEqual(await storedRefreshToken(h), rt);
  });

  test('a failed keychain write after a refresh keeps the new refresh token in memory, says persisted: false, and retries', async () => {
    let faulty!: FaultyStore;
    const { op, h } = await setUp({ accessTokenTtl: 600 }, { store: (real) => (faulty = new FaultyStore(real)) });
    const rt = await storedRefreshToken(h);
    faulty.sets = 0;
    faulty.refusing = true; // keychain writes fail (and retries too) until the checks below are done
    const seenPersisted: boolean[] = [];
    h.broker.onStatus((c) => seenPersisted.push(c.account.persisted));
    await h.broker.refresh('acct');
    assert.equal(h.broker.view('acct').persisted, false);
    const listed = () => (JSON.parse(h.broker.listJson(() => true).toString()) as { accounts: Array<{ persisted: boolean }> }).accounts;
    assert.equal(listed()[0]!.persisted, false, 'the listing says so too');
    assert.equal(h.broker.listJson(() => true), h.broker.listJson(() => true), 'nothing changed: the same answer, not built again');
    assert.equal(h.broker.listJson(() => false).toString(), '{"accounts":[]}', 'another filter, another answer');
    assert.equal(await storedRefreshToken(h), rt, 'the keychain still has the old one');
    const inMemory = (await h.vault.read('acct'))?.refreshToken;
    assert.ok(inMemory && inMemory !== rt, 'the new refresh token is kept in memory');
    const served = await h.broker.getToken('acct');
    assert.equal((await op.introspect(served.accessToken)).active, true);
    faulty.refusing = false;
    await eventually('the write is retried', async () => (await storedRefreshToken(h)) === inMemory, 5_000);
    await eventually('persisted again', () => h.broker.view('acct').persisted, 2_000);
    assert.equal(listed()[0]!.persisted, true, 'and the listing follows');
    await h.broker.refresh('acct');
    assert.equal(op.counters.reusedRefreshTokens, 0, 'the old refresh token was never used again');
  });

  test('a keychain that refuses every write, 40 accounts: retries cost one call a round (not one per account per account), one warning per account, and all land once it is back', async () => {
    let faulty!: FaultyStore;
    const op = await TestProvider.start({ clientCredentialsTtl: 600 });
    const h = await brokerHarness(op, { store: (real) => (faulty = new FaultyStore(real)), backoff: { baseMs: 200, capMs: 400 } });
    cleanup.push(() => op.close(), () => h.close());
    const ids = Array.from({ length: 40 }, (_, i) => `cc-${i}`);
    faulty.refusing = true;
    for (const id of ids) {
      await h.broker.addAccount({ id, name: id, flow: 'client-credentials', provider: { tokenEndpoint: op.tokenEndpoint }, clientId: op.confidentialClient.client_id, scopes: ['api:read'] }, { clientSecret: op.confidentialClient.client_secret });
      await h.broker.signIn(id);
    }
    assert.ok(ids.every((id) => !h.broker.view(id).persisted));
    faulty.sets = 0;
    await sleep(4_000); // ~10 rounds of retries at 200–400 ms
    const attempts = faulty.sets;
    // Rounds come every 50–400 ms (full jitter, at least 50 ms): at most 80 in 4 s, one refused write each.
    // Per-account loops that each retried every pending account made 40 × 40 writes per round.
    assert.ok(attempts > 0 && attempts <= 80, `${attempts} keychain writes in 4 s of retries for 40 accounts`);
    const warnings = h.logs().split('\n').filter((l) => l.includes('keychain write failed')).length;
    assert.ok(warnings <= ids.length * 2, `${warnings} warnings for ${ids.length} accounts`);
    for (const id of ids) assert.ok((await h.broker.getToken(id)).accessToken, 'tokens are served from memory meanwhile');
    faulty.refusing = false;
    await eventually('every account persisted again', () => ids.every((id) => h.broker.view(id).persisted), 10_000);
  });
});
