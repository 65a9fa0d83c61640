// The OAuth edges REQUIREMENTS 2–9 name, each against the real provider, keychain and browser.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { OAuthClient } from '../../main/core/oauth/oauth-client.ts';
import type { ProviderError } from '../../main/core/oauth/provider-error.ts';
import { brokerHarness, eventually, type Harness } from '../fixtures/broker-harness.ts';
import { secretToolAccounts, storedRecord } from '../fixtures/keychain.ts';
import { DEVICE_GRANT, TestProvider } from '../fixtures/provider/test-provider.ts';

const cleanup: Array<() => Promise<void> | void> = [];
after(async () => { for (const c of cleanup.reverse()) await c(); });

async function harness(op: TestProvider, options: Parameters<typeof brokerHarness>[1] = {}): Promise<Harness> {
  const h = await brokerHarness(op, options);
  cleanup.push(() => h.close());
  return h;
}

async function provider(settings: Partial<TestProvider['settings']> = {}): Promise<TestProvider> {
  const op = await TestProvider.start({ accessTokenTtl: 600, ...settings });
  cleanup.push(() => op.close());
  return op;
}

async function signedIn(op: TestProvider, id = 'acct', options: Parameters<typeof brokerHarness>[1] = {}): Promise<Harness> {
  const h = await harness(op, options);
  await h.broker.addAccount({ id, name: id, flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid', 'offline_access'] });
  await h.broker.signIn(id);
  return h;
}

describe('sign-in edges', () => {
  let op: TestProvider;
  before(async () => { op = await provider(); });

  test('an ID token whose signature does not verify fails the sign-in; nothing is stored (REQUIREMENTS 4)', async () => {
    const h = await harness(op, {
      browser: {
        open: async (url) => {
          // The provider's own answer, with the ID token's signature altered on the way.
          await op.setFault({
            mode: 'rewrite',
            times: 1,
            rewrite: (body) => {
              const [header, payload, signature] = String(body['id_token']).split('.');
              const flipped = (signature![0] === 'A' ? 'B' : 'A') + signature!.slice(1);
              return { ...body, id_token: `${header}.${payload}.${flipped}` };
            },
          });
          await op.signIn(url);
        },
      },
    });
    await h.broker.addAccount({ id: 'forged', name: 'Forged', flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid', 'offline_access'] });
    await assert.rejects(h.broker.signIn('forged'), (e: { code: string; message: string }) => e.code === 'sign_in_failed' && /ID token/.test(e.message) && /signature/i.test(e.message));
    assert.equal(op.counters.faulted['rewrite'], 1, 'the code exchange got the altered answer');
    assert.equal(h.broker.view('forged').status, 'connecting');
    assert.deepEqual(await secretToolAccounts(h.service), [], 'nothing reached the keychain');
  });

  test('a replayed and a late callback cause no token request; the listener closes after one valid callback (REQUIREMENTS 2, 3)', async () => {
    let callbackUrl = '';
    const h = await harness(op, { browser: { open: async (url) => { callbackUrl = await op.signIn(url); } } });
    await h.broker.addAccount({ id: 'once', name: 'Once', flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid', 'offline_access'] });
    const exchanges = op.requests('authorization_code');
    assert.equal((await h.broker.signIn('once')).status, 'valid');
    assert.match(callbackUrl, /^http:\/\/127\.0\.0\.1:\d+\/callback\?.*code=.*state=/);
    assert.equal(op.requests('authorization_code'), exchanges + 1);
    // The same callback again, at once and a second later: the listener is gone.
    for (const wait of [0, 1_000]) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      await assert.rejects(fetch(callbackUrl, { signal: AbortSignal.timeout(2_000) }), (e: Error & { cause?: { code?: string } }) => e.cause?.code === 'ECONNREFUSED', `replay after ${wait} ms`);
    }
    assert.equal(op.requests('authorization_code'), exchanges + 1, 'no token request for a replayed or late callback');

    // A replay while a listener is still open (two tabs delivering the same redirect): one exchange.
    let statuses: number[] = [];
    const twice = await harness(op, {
      home: h.home,
      service: h.service,
      browser: {
        open: async (url) => {
          const redirect = new URL(url).searchParams.get('redirect_uri')!;
          const state = new URL(url).searchParams.get('state')!;
          // A code the provider never issued, delivered twice with the right state.
          statuses = await Promise.all([1, 2].map(async () => (await fetch(`${redirect}?${new URLSearchParams({ code: 'made-up', state, iss: op.issuer })}`).catch(() => null))?.status ?? 0));
        },
      },
    });
    await assert.rejects(twice.broker.signIn('once', { timeoutMs: 3_000 }));
    assert.equal(op.requests('authorization_code'), exchanges + 2, `one code exchange for two deliveries (answers: ${statuses.join(', ')})`);
    assert.equal(statuses.filter((s) => s === 400).length + statuses.filter((s) => s === 0).length, 1, 'the second delivery got an error page or a closed door');
  });

  test('expired_token ends a device flow at once (REQUIREMENTS 5)', async () => {
    const h = await harness(op, { browser: { open: async () => undefined } }); // nobody approves
    await h.broker.addAccount({ id: 'tv', name: 'TV', flow: 'device', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid'] });
    await op.setFault({ mode: 'error', oauthError: 'expired_token', times: 1 });
    const polls = op.requests(DEVICE_GRANT);
    const started = Date.now();
    await assert.rejects(h.broker.signIn('tv', { timeoutMs: 60_000 }), (e: { code: string; message: string }) => e.code === 'sign_in_failed' && /device code expired/.test(e.message));
    assert.ok(Date.now() - started < 15_000, 'ended at the first expired_token, not at the timeout');
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    assert.equal(op.requests(DEVICE_GRANT), polls + 1, 'no poll after expired_token');
  });
});

describe('refresh edges', () => {
  test('a refresh answer without a refresh token keeps the stored one (REQUIREMENTS 6)', async () => {
    const op = await provider({ rotateRefreshTokens: false });
    const h = await signedIn(op);
    const kept = (await storedRecord(h.service, 'acct'))!.refreshToken!;
    await op.setFault({ mode: 'rewrite', times: 1, rewrite: ({ refresh_token: _dropped, refresh_token_expires_in: _also, ...rest }) => rest });
    const before = (await h.broker.getToken('acct')).accessToken;
    assert.equal((await h.broker.refresh('acct')).status, 'valid');
    const stored = (await storedRecord(h.service, 'acct'))!;
    assert.equal(stored.refreshToken, kept, 'the old refresh token is still the one stored');
    assert.notEqual(stored.accessToken, before, 'the new access token was stored');
    assert.equal((await h.broker.refresh('acct')).status, 'valid', 'and the kept refresh token still works');
  });

  test('429 and each "fix the configuration" error reach their status at broker level (REQUIREMENTS 8)', async () => {
    const op = await provider();
    const h = await signedIn(op);
    await op.setFault({ mode: '429', retryAfter: 30, times: 1 });
    await assert.rejects(h.broker.refresh('acct'), { code: 'provider_unavailable' });
    let view = h.broker.view('acct');
    assert.equal(view.status, 'retrying', '429');
    assert.ok(Date.parse(view.nextRefreshAt!) - Date.now() > 25_000, 'Retry-After: 30 is honoured');
    await h.broker.reconfigure('acct', (a) => a); // (resets the backoff, as a person fixing things would)
    for (const oauthError of ['invalid_scope', 'unauthorized_client', 'unsupported_grant_type', 'invalid_request', 'invalid_client']) {
      await op.setFault({ mode: 'error', oauthError, status: oauthError === 'invalid_client' ? 401 : 400, times: 1 });
      const sent = op.requests('refresh_token');
      await h.broker.refresh('acct').then(() => assert.fail(`${oauthError} refresh resolved`), (e: { code: string }) => assert.equal(e.code, 'misconfigured', oauthError));
      view = h.broker.view('acct');
      assert.equal(view.status, 'misconfigured', oauthError);
      assert.equal(view.lastError?.code, 'misconfigured');
      assert.match(view.lastError!.message, new RegExp(oauthError));
      assert.equal(op.requests('refresh_token'), sent + 1, `${oauthError}: no retry`);
      assert.ok((await h.broker.getToken('acct')).accessToken, 'the unexpired access token is still served');
      await h.broker.reconfigure('acct', (a) => a);
      assert.equal((await h.broker.refresh('acct')).status, 'valid', `after ${oauthError}: the kept refresh token works`);
    }
    assert.equal(op.counters.reusedRefreshTokens, 0);
  });

  test('a response dropped after the provider issued tokens is retried once with the same refresh token; the grace window keeps the grant (REQUIREMENTS 9)', async () => {
    const op = await provider({ reuseGraceMs: 10_000 });
    const h = await signedIn(op);
    const used = (await storedRecord(h.service, 'acct'))!.refreshToken!;
    const sent = op.requests('refresh_token');
    await op.setFault({ mode: 'drop', times: 1 });
    assert.equal((await h.broker.refresh('acct')).status, 'valid');
    assert.equal(op.requests('refresh_token'), sent + 2, 'sent, dropped, sent once more');
    assert.equal(op.lastRequest['refresh_token']?.['refresh_token'], used, 'with the same refresh token');
    assert.equal(op.counters.graceReplays, 1, 'the provider answered the retry from its grace window');
    assert.equal(op.counters.reusedRefreshTokens, 0);
    const stored = (await storedRecord(h.service, 'acct'))!;
    assert.notEqual(stored.refreshToken, used, 'the rotated refresh token is stored');
    assert.equal((await op.introspect(stored.refreshToken!)).active, true, 'and the provider knows it');
    assert.equal((await h.broker.refresh('acct')).status, 'valid', 'the grant lives on');
  });

  test('every provider request goes through the injected fetch (openid-client customFetch), discovery to revocation', async () => {
    const op = await provider();
    const seen: string[] = [];
    const recording: typeof fetch = (input, init) => {
      seen.push(`${init?.method ?? 'GET'} ${new URL(String(input instanceof Request ? input.url : input)).pathname}`);
      return fetch(input, init);
    };
    const h = await signedIn(op, 'acct', { fetch: recording });
    await h.broker.refresh('acct');
    await h.broker.remove('acct');
    for (const expected of ['GET /.well-known/openid-configuration', 'POST /token', 'GET /jwks', 'POST /token/revocation']) {
      assert.ok(seen.includes(expected), `${expected} in ${seen.join(', ')}`);
    }
  });

  test('the broker decides by the injected clock: moved to a minute before expiry, a token request refreshes first', async () => {
    const op = await provider();
    let offsetMs = 0;
    const h = await signedIn(op, 'acct', { now: () => new Date(Date.now() + offsetMs) });
    const first = await h.broker.getToken('acct');
    const sent = op.requests('refresh_token');
    assert.equal((await h.broker.getToken('acct')).accessToken, first.accessToken, 'fresh: served as is');
    offsetMs = Date.parse(first.expiresAt!) - Date.now() - 20_000; // 20 s left, by the broker's clock
    const second = await h.broker.getToken('acct', { minTtlSeconds: 30 });
    assert.notEqual(second.accessToken, first.accessToken);
    assert.equal(op.requests('refresh_token'), sent + 1, 'one refresh, because the injected clock said so');
  });

  test('40 accounts of one provider refreshing together: at most the concurrency limit at once toward it, every one lands', async () => {
    const op = await provider({ clientCredentialsTtl: 600 });
    const h = await harness(op, { providerConcurrency: 4, requestTimeoutMs: 20_000 });
    const ids = Array.from({ length: 40 }, (_, i) => `m-${i}`);
    for (const id of ids) {
      await h.broker.addAccount({ id, name: id, flow: 'client-credentials', provider: { tokenEndpoint: op.tokenEndpoint }, clientId: op.confidentialClient.client_id, scopes: ['api:read'] }, { clientSecret: op.confidentialClient.client_secret });
      await h.broker.signIn(id);
    }
    await op.setFault({ mode: 'delay', delayMs: 250 }); // every token request takes 250 ms at the provider
    const started = Date.now();
    const views = await Promise.all(ids.map((id) => h.broker.refresh(id)));
    const took = Date.now() - started;
    await op.setFault(null);
    assert.ok(views.every((v) => v.status === 'valid'));
    assert.equal(h.broker.peakProviderConcurrency, 4, 'never more than 4 token requests at once toward the provider');
    assert.ok(took >= (40 / 4) * 250 - 100, `${took} ms: the requests queued behind the limit`);
  });

  test('strange answers: a 503 with a WWW-Authenticate challenge is an outage, not misconfigured; expires_in 1e12 is clamped, not fatal', async () => {
    const op = await provider();
    const h = await signedIn(op);
    await op.setFault({ mode: 'error', status: 503, oauthError: 'temporarily_unavailable', headers: { 'www-authenticate': 'Bearer error="invalid_token", error_description="maintenance"' }, times: 1 });
    await assert.rejects(h.broker.refresh('acct'), { code: 'provider_unavailable' });
    assert.equal(h.broker.view('acct').status, 'retrying', 'the status decides before the headers');
    await h.broker.reconfigure('acct', (a) => a);
    await op.setFault({ mode: 'rewrite', times: 1, rewrite: (body) => ({ ...body, expires_in: 1e12 }) });
    const view = await h.broker.refresh('acct');
    assert.equal(view.status, 'valid');
    const expiresAt = Date.parse(view.accessTokenExpiresAt!);
    assert.ok(expiresAt > Date.now() + 300 * 24 * 3600_000 && expiresAt <= Date.now() + 366 * 24 * 3600_000, `clamped to a year: ${view.accessTokenExpiresAt}`);
    assert.equal((await storedRecord(h.service, 'acct'))?.refreshToken, op.issuedRefreshTokens.at(-1), 'the rotated refresh token is stored');
    assert.ok((await h.broker.getToken('acct')).accessToken);
    assert.equal(op.counters.reusedRefreshTokens, 0, 'the stale refresh token was never sent again');
  });

  test('a connect timeout is not retried; a timeout after sending is (REQUIREMENTS 9)', async () => {
    // A provider host whose listener is frozen before accepting: its accept queue fills, and
    // new connections hang in the handshake (the request is never sent).
    const frozen = spawn(process.execPath, ['-e', `const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{console.log(s.address().port);setTimeout(()=>Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0),50)})`], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.push(() => { frozen.kill('SIGKILL'); });
    const port = await new Promise<number>((resolve) => frozen.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const fillers: Socket[] = [];
    for (let i = 0; i < 4; i++) fillers.push(connect(port, '127.0.0.1').on('error', () => undefined));
    cleanup.push(() => { for (const s of fillers) s.destroy(); });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const account = { id: 'frozen', name: 'frozen', flow: 'browser' as const, provider: { tokenEndpoint: `http://127.0.0.1:${port}/token` }, clientId: 'c', scopes: [], params: {}, createdAt: new Date().toISOString(), hasClientSecret: false, state: { status: 'valid' as const, accessTokenExpiresAt: null, refreshTokenExpiresAt: null, lastRefreshAt: null, nextRefreshAt: null, lastError: null } };
    const client = new OAuthClient({ account: account as never, clientSecret: null, timeoutMs: 1_000, now: () => new Date() });
    const error = (await client.refresh('rt').then(() => null, (e: unknown) => e)) as ProviderError;
    assert.equal(error?.code, 'provider_unavailable');
    assert.equal(error.timedOut, true);
    assert.equal(error.unanswered, false, 'never sent: not a candidate for the one retry');
    assert.match(error.message, /could not connect/);

    const op = await provider();
    const h = await signedIn(op, 'acct', { requestTimeoutMs: 1_000 });
    await op.setFault({ mode: 'hang', times: 1 });
    const sent = op.requests('refresh_token');
    assert.equal((await h.broker.refresh('acct')).status, 'valid');
    assert.equal(op.requests('refresh_token'), sent + 2, 'a hang after sending: retried once');
    await eventually('no more requests', async () => op.requests('refresh_token') === sent + 2, 1_000);
  });
});
