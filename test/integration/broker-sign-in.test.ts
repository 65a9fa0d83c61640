import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SignInEvent } from '../../main/core/oauth/sign-in.ts';
import { brokerHarness, chromiumOpener, type Harness } from '../fixtures/broker-harness.ts';
import { canaryJwt } from '../fixtures/canary.ts';
import { secretToolAccounts } from '../fixtures/keychain.ts';
import { DEVICE_GRANT, PLUGIN_GRANT, TestProvider } from '../fixtures/provider/test-provider.ts';

describe('broker sign-in flows against the real provider and keychain', () => {
  let op: TestProvider;
  const harnesses: Harness[] = [];
  before(async () => { op = await TestProvider.start({ accessTokenTtl: 600 }); });
  after(async () => {
    for (const h of harnesses) await h.close();
    await op.close();
  });
  async function harness(options: Parameters<typeof brokerHarness>[1] = {}) {
    const h = await brokerHarness(op, options);
    harnesses.push(h);
    return h;
  }

  test('browser sign-in in Chromium: tokens land in the keychain; a restarted broker serves them without refreshing', async () => {
    const h = await harness();
    await h.broker.addAccount({ id: 'web', name: 'Web app', flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid', 'offline_access', 'api:read'] });
    const events: SignInEvent[] = [];
    const view = await h.broker.signIn('web', { onEvent: (e) => events.push(e) });
    assert.equal(view.status, 'valid');
    assert.equal(view.persisted, true);
    assert.ok(view.accessTokenExpiresAt && Date.parse(view.accessTokenExpiresAt) > Date.now() + 500_000);
    const authorize = events.find((e) => e.event === 'authorize');
    assert.ok(authorize && authorize.event === 'authorize');
    const url = new URL(authorize.url);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('prompt'), 'consent', 'offline_access asks for consent');
    assert.match(url.searchParams.get('redirect_uri')!, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    assert.ok((url.searchParams.get('state') ?? '').length >= 32);
    assert.deepEqual(await secretToolAccounts(h.service), ['web']);

    const token = await h.broker.getToken('web');
    assert.equal((await op.introspect(token.accessToken)).active, true);
    const accountsJson = await readFile(join(h.home, 'accounts.json'), 'utf8');
    assert.ok(!accountsJson.includes(token.accessToken));

    const refreshesBefore = op.requests('refresh_token');
    const restarted = await h.restart();
    harnesses.push(restarted);
    const again = await restarted.broker.getToken('web');
    assert.equal(again.accessToken, token.accessToken, 'the stored token is served as is');
    assert.equal(op.requests('refresh_token'), refreshesBefore, 'a still-valid token is not refreshed');
    assert.equal(restarted.broker.view('web').status, 'valid');
  });

  test('device flow end to end; the person approves in Chromium', async () => {
    const h = await harness();
    await h.broker.addAccount({ id: 'tv', name: 'Device', flow: 'device', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid', 'offline_access'] });
    const events: SignInEvent[] = [];
    const view = await h.broker.signIn('tv', { onEvent: (e) => events.push(e) });
    assert.equal(view.status, 'valid');
    const device = events.find((e) => e.event === 'device_code');
    assert.ok(device && device.event === 'device_code' && device.user_code && device.verification_uri);
    assert.ok(op.requests(DEVICE_GRANT) >= 1);
    assert.equal((await op.introspect((await h.broker.getToken('tv')).accessToken)).active, true);
  });

  test('a device verification URL that is plain http to a non-loopback host is never opened (REQUIREMENTS 1)', async () => {
    // Fault injection in front of the real device endpoint: the answer is the provider's, with
    // its verification URLs rewritten the way a hostile or broken provider would send them.
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void fetch(`${op.issuer}/device/auth`, { method: 'POST', headers: { 'content-type': String(req.headers['content-type']), ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) }, body: Buffer.concat(chunks) })
          .then(async (answer) => {
            const body = (await answer.json()) as Record<string, unknown>;
            body['verification_uri'] = 'http://login.example.com/device';
            body['verification_uri_complete'] = `http://login.example.com/device?user_code=${String(body['user_code'])}`;
            res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
          });
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const opened: string[] = [];
    const h = await harness({ browser: { open: async (url) => { opened.push(url); } } });
    try {
      await h.broker.addAccount({ id: 'tv-http', name: 'Device over http', flow: 'device', provider: { tokenEndpoint: op.tokenEndpoint, deviceEndpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/device` }, clientId: op.nativeClient.client_id, scopes: ['openid'] });
      await assert.rejects(h.broker.signIn('tv-http', { timeoutMs: 5_000 }), { code: 'insecure_url' });
      assert.deepEqual(opened, [], 'the browser was never asked to open it');
    } finally {
      proxy.close();
    }
  });

  test('device flow honours slow_down: the next poll comes at least 5 s later than the interval', async () => {
    const h = await harness({ browser: { open: async () => undefined } }); // the person approves later
    await h.broker.addAccount({ id: 'slow', name: 'Slow', flow: 'device', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid'] });
    const polls = () => op.requestTimes[DEVICE_GRANT]?.length ?? 0;
    const before = polls();
    await op.setFault({ mode: 'slow_down', times: 1 });
    let verification = '';
    const signingIn = h.broker.signIn('slow', { onEvent: (e) => { if (e.event === 'device_code') verification = e.verification_uri_complete ?? ''; } });
    // Approve only after the first poll was answered slow_down.
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (polls() > before) { clearInterval(t); resolve(); } }, 20); });
    assert.equal(op.counters.faulted['slow_down'], 1);
    await op.approveDevice(verification);
    assert.equal((await signingIn).status, 'valid');
    const times = op.requestTimes[DEVICE_GRANT]!.slice(before);
    assert.ok(times.length >= 2);
    const gap = times[1]! - times[0]!;
    assert.ok(gap >= 5_000 + 5_000 - 300, `after slow_down the client waited ${gap} ms (interval 5 s + 5 s)`);
  });

  test('client credentials: a machine account; "refresh" requests a new token', async () => {
    const h = await harness();
    await h.broker.addAccount({ id: 'machine', name: 'Machine', flow: 'client-credentials', provider: { issuer: op.issuer }, clientId: op.confidentialClient.client_id, scopes: ['api:read'] }, { clientSecret: op.confidentialClient.client_secret });
    await h.broker.signIn('machine');
    const first = await h.broker.getToken('machine');
    assert.equal(first.scope, 'api:read');
    const before = op.requests('client_credentials');
    await h.broker.refresh('machine');
    assert.equal(op.requests('client_credentials'), before + 1);
    const second = await h.broker.getToken('machine');
    assert.notEqual(second.accessToken, first.accessToken);
    assert.equal((await op.introspect(second.accessToken)).active, true);
  });

  test('custom grant plugin_install: refresh_token_expires_in becomes the refresh-token expiry', async () => {
    const h = await harness();
    await h.broker.addAccount(
      { id: 'plugin', name: 'Plugin', flow: 'grant', grantType: PLUGIN_GRANT, params: { install_id: 'inst-7' }, tokenEndpointAuth: 'client_secret_post', provider: { tokenEndpoint: op.tokenEndpoint, revocationEndpoint: `${op.issuer}/token/revocation` }, clientId: op.pluginClient.client_id },
      { clientSecret: op.pluginClient.client_secret },
    );
    const view = await h.broker.signIn('plugin');
    const expected = Date.now() + op.settings.pluginRefreshTokenTtl * 1000;
    assert.ok(view.refreshTokenExpiresAt);
    assert.ok(Math.abs(Date.parse(view.refreshTokenExpiresAt) - expected) < 10_000, view.refreshTokenExpiresAt);
    assert.deepEqual(view.provider, { tokenEndpoint: op.tokenEndpoint, preset: null });
    assert.equal(op.lastRequest[PLUGIN_GRANT]?.['install_id'], 'inst-7');
    assert.equal(op.lastRequest[PLUGIN_GRANT]?.['client_id'], op.pluginClient.client_id);
    // It renews through its refresh token, not the install grant.
    const installs = op.requests(PLUGIN_GRANT);
    await h.broker.refresh('plugin');
    assert.equal(op.requests(PLUGIN_GRANT), installs);
  });

  test('post-login exchange and appsecret_proof', async () => {
    const h = await harness();
    await h.broker.addAccount(
      {
        id: 'exchanged', name: 'Exchanged', flow: 'client-credentials', provider: { issuer: op.issuer }, clientId: op.confidentialClient.client_id, scopes: ['api:read'],
        exchange: { grantType: 'client_credentials', params: { scope: 'api:write', subject_token: '{access_token}' } },
        appsecretProof: true,
      },
      { clientSecret: op.confidentialClient.client_secret },
    );
    const before = op.requests('client_credentials');
    await h.broker.signIn('exchanged');
    assert.equal(op.requests('client_credentials'), before + 2, 'the first token, then the exchange');
    const token = await h.broker.getToken('exchanged');
    assert.equal(token.scope, 'api:write', 'the exchanged token replaced the first');
    const first = op.lastRequest['client_credentials']?.['subject_token'];
    assert.ok(first && first !== token.accessToken, '{access_token} stood for the first token');
    assert.equal((await op.introspect(first)).scope, 'api:read');
    assert.equal(token.appsecretProof, createHmac('sha256', op.confidentialClient.client_secret).update(token.accessToken).digest('hex'));
    // Renewed the way it got its first token, then exchanged again.
    await h.broker.refresh('exchanged');
    assert.equal(op.requests('client_credentials'), before + 4, 'a new first token, then the exchange again');
    const renewed = await h.broker.getToken('exchanged');
    assert.notEqual(renewed.accessToken, token.accessToken);
    assert.equal(renewed.scope, 'api:write');
    assert.equal(op.lastRequest['client_credentials']?.['scope'], 'api:write', 'the last request was the exchange');
    assert.equal(renewed.appsecretProof, createHmac('sha256', op.confidentialClient.client_secret).update(renewed.accessToken).digest('hex'));
  });

  test('a manual token account: expiry from the JWT, served, then sign-in required', async () => {
    const h = await harness();
    await h.broker.addAccount({ id: 'pat', name: 'Pasted token', flow: 'manual', provider: {} });
    const jwt = canaryJwt(800).replace(/^[^.]+\.[^.]+/, (m) => m.split('.')[0] + '.' + Buffer.from(JSON.stringify({ sub: 'me', exp: Math.floor(Date.now() / 1000) + 2 })).toString('base64url'));
    const view = await h.broker.signIn('pat', { token: jwt });
    assert.equal(view.status, 'valid');
    assert.ok(view.accessTokenExpiresAt);
    assert.equal((await h.broker.getToken('pat', { minTtlSeconds: 0 })).accessToken, jwt);
    await new Promise((r) => setTimeout(r, 2500));
    await assert.rejects(h.broker.getToken('pat'), { code: 'reauth_required' });
    assert.equal(h.broker.view('pat').status, 'reauth_required');
  });

  describe('a failed sign-in leaves the previous tokens untouched', () => {
    test('denied at the provider, a provider error, a forged callback, and a timeout', async () => {
      const h = await harness({ browser: chromiumOpener(op, 'erin') });
      await h.broker.addAccount({ id: 'keep', name: 'Keep', flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid', 'offline_access'] });
      await h.broker.signIn('keep');
      const before = await h.broker.getToken('keep');
      const codeExchanges = op.requests('authorization_code');

      // Denied: the person presses Cancel on the provider's login page.
      const denied = await brokerHarness(op, {
        home: h.home,
        service: h.service,
        browser: { open: async (url) => { await op.cancelSignIn(url); } },
      });
      harnesses.push(denied);
      await assert.rejects(denied.broker.signIn('keep'), (e: { code: string; message: string }) => e.code === 'sign_in_failed' && /denied|access_denied/.test(e.message));

      // A provider error: the person signs in, then the token endpoint fails the code exchange;
      // and a callback that carries error=server_error.
      const exchangeFails = await brokerHarness(op, {
        home: h.home,
        service: h.service,
        browser: { open: async (url) => { await op.setFault({ mode: '503', retryAfter: 1 }); await op.signIn(url, { login: 'erin' }); } },
      });
      harnesses.push(exchangeFails);
      try {
        await assert.rejects(exchangeFails.broker.signIn('keep'), { code: 'provider_unavailable' });
      } finally {
        await op.setFault(null);
      }
      const serverError = await brokerHarness(op, {
        home: h.home,
        service: h.service,
        browser: {
          open: async (url) => {
            const authorize = new URL(url);
            const callback = new URL(authorize.searchParams.get('redirect_uri')!);
            callback.search = new URLSearchParams({ error: 'server_error', error_description: 'maintenance', state: authorize.searchParams.get('state')! }).toString();
            assert.equal((await fetch(callback)).status, 400);
          },
        },
      });
      harnesses.push(serverError);
      await assert.rejects(serverError.broker.signIn('keep'), (e: { code: string; message: string }) => e.code === 'sign_in_failed' && /server_error.*maintenance/.test(e.message));
      assert.equal(serverError.broker.view('keep').status, 'valid', 'the account keeps its tokens and its status');

      // Forged: a callback with the wrong state gets an error page and causes no token request.
      let forgedStatus = 0;
      const forged = await brokerHarness(op, {
        home: h.home,
        service: h.service,
        browser: {
          open: async (url) => {
            const redirect = new URL(url).searchParams.get('redirect_uri')!;
            const res = await fetch(`${redirect}?code=stolen&state=not-the-state`);
            forgedStatus = res.status;
            const missing = await fetch(`${redirect}?code=stolen`);
            assert.equal(missing.status, 400);
          },
        },
      });
      harnesses.push(forged);
      await assert.rejects(forged.broker.signIn('keep', { timeoutMs: 1500 }), { code: 'sign_in_failed' });
      assert.equal(forgedStatus, 400);
      assert.equal(op.requests('authorization_code'), codeExchanges + 1, 'one failed code exchange; no token request for an error, a forged or a late callback');

      const after = await (await h.restart()).broker.getToken('keep');
      assert.equal(after.accessToken, before.accessToken);
      assert.equal((await op.introspect(after.accessToken)).active, true);
    });
  });

  test('removing an account while its sign-in waits for the person ends the sign-in and keeps nothing', async () => {
    const exchanges = op.requests('authorization_code');
    let h: Awaited<ReturnType<typeof harness>> | undefined = undefined;
    let personFinished: Promise<unknown> = Promise.resolve();
    h = await harness({
      browser: {
        open: async (url) => {
          await h!.broker.remove('gone');
          // The person finishes at the provider anyway; the loopback listener is gone by then.
          personFinished = op.signIn(url).catch(() => undefined);
        },
      },
    });
    await h.broker.addAccount({ id: 'gone', name: 'Gone', flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid', 'offline_access'] });
    await assert.rejects(h.broker.signIn('gone'), { code: 'sign_in_failed' });
    await personFinished;
    assert.equal(op.requests('authorization_code'), exchanges, 'no code was exchanged for tokens');
    assert.deepEqual(h.broker.list().map((a) => a.id).filter((id) => id === 'gone'), []);
    assert.deepEqual((await secretToolAccounts(h.service)).filter((a) => a.startsWith('gone')), [], 'no keychain item');
  });

  test('adding an id that exists says how to go on when that account never finished signing in', async () => {
    const h = await harness();
    const definition = { id: 'twice', name: 'Twice', flow: 'browser' as const, provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid'] };
    await h.broker.addAccount(definition);
    await assert.rejects(h.broker.addAccount(definition), (e: { code: string; message: string }) => e.code === 'account_exists' && /never finished signing in.*tokentray login twice/.test(e.message));
    await h.broker.signIn('twice');
    await assert.rejects(h.broker.addAccount(definition), (e: { code: string; message: string }) => e.code === 'account_exists' && !/never finished/.test(e.message));
  });

  test('plain http is refused for a non-loopback provider', async () => {
    const h = await harness();
    await h.broker.addAccount({ id: 'insecure', name: 'Insecure', flow: 'client-credentials', provider: { tokenEndpoint: 'http://tokens.example.com/token' }, clientId: 'x' }, { clientSecret: 'secret-value' });
    await assert.rejects(h.broker.signIn('insecure'), (e: { code: string; message: string }) => e.code === 'insecure_url' && /https/.test(e.message));
  });
});
