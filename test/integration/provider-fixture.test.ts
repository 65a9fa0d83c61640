import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { loopbackCallback } from '../fixtures/loopback-callback.ts';
import { DEVICE_GRANT, PLUGIN_GRANT, TestProvider } from '../fixtures/provider/test-provider.ts';

const insecureLoopback = { execute: [oidc.allowInsecureRequests] };

function basic(client: { client_id: string; client_secret: string }): string {
  return `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
}

async function tokenRequest(op: TestProvider, form: Record<string, string>, signal?: AbortSignal): Promise<Response> {
  return fetch(op.tokenEndpoint, {
    method: 'POST',
    headers: { authorization: basic(op.confidentialClient), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
    signal: signal ?? AbortSignal.timeout(5000),
  });
}

/** A full authorization-code + PKCE sign-in through Chromium, as a confidential client. */
async function signedIn(op: TestProvider, login: string): Promise<{ config: oidc.Configuration; tokens: oidc.TokenEndpointResponse }> {
  const callback = await loopbackCallback();
  try {
    const config = await oidc.discovery(new URL(op.issuer), op.confidentialClient.client_id, op.confidentialClient.client_secret, undefined, insecureLoopback);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: callback.redirectUri, scope: 'openid offline_access', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', prompt: 'consent' });
    await op.signIn(url.href, { login });
    return { config, tokens: await oidc.authorizationCodeGrant(config, await callback.received, { pkceCodeVerifier: verifier }) };
  } finally {
    callback.close();
  }
}

describe('the OIDC test provider fixture', () => {
  let op: TestProvider;
  before(async () => { op = await TestProvider.start({ accessTokenTtl: 120 }); });
  after(async () => { await op.close(); });

  test('serves discovery on 127.0.0.1 with every endpoint later issues need', async () => {
    const config = await oidc.discovery(new URL(op.issuer), op.confidentialClient.client_id, op.confidentialClient.client_secret, undefined, insecureLoopback);
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, op.issuer);
    assert.match(op.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    for (const key of ['authorization_endpoint', 'token_endpoint', 'device_authorization_endpoint', 'revocation_endpoint', 'introspection_endpoint', 'jwks_uri'] as const) {
      assert.ok(String(meta[key]).startsWith(op.issuer), key);
    }
    assert.ok(meta.grant_types_supported?.includes(PLUGIN_GRANT));
    assert.ok(meta.code_challenge_methods_supported?.includes('S256'));
  });

  test('client credentials: a token the provider introspects as active, counted per grant type', async () => {
    const before = op.requests('client_credentials');
    const config = await oidc.discovery(new URL(op.issuer), op.confidentialClient.client_id, op.confidentialClient.client_secret, undefined, insecureLoopback);
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'api:read' });
    assert.ok(tokens.access_token);
    assert.equal(tokens.expires_in, 600);
    assert.equal((await op.introspect(tokens.access_token)).active, true);
    assert.equal(op.requests('client_credentials'), before + 1);
    const wrong = await fetch(op.tokenEndpoint, {
      method: 'POST',
      headers: { authorization: basic({ ...op.confidentialClient, client_secret: 'wrong' }), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: string }).error, 'invalid_client');
    assert.ok((op.counters.errors['invalid_client'] ?? 0) >= 1);
  });

  test('browser sign-in through Chromium: code + PKCE, ID token, rotating refresh token, revocation', async () => {
    const callback = await loopbackCallback();
    try {
      const config = await oidc.discovery(new URL(op.issuer), op.nativeClient.client_id, undefined, oidc.None(), insecureLoopback);
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: callback.redirectUri,
        scope: 'openid offline_access email api:read',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        prompt: 'consent',
      });
      const landed = await op.signIn(url.href, { login: 'alice' });
      assert.ok(landed.startsWith(callback.redirectUri), landed);
      const tokens = await oidc.authorizationCodeGrant(config, await callback.received, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
      assert.ok(tokens.access_token && tokens.refresh_token && tokens.id_token);
      assert.equal(tokens.claims()?.sub, 'alice');
      assert.equal(tokens.expires_in, 120);
      assert.equal((await op.introspect(tokens.access_token)).active, true);

      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
      assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'the refresh token rotates');
      // Presenting the old one again is reuse: the provider refuses and revokes the grant.
      const reusedBefore = op.counters.reusedRefreshTokens;
      await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token), (e: oidc.ResponseBodyError) => e.error === 'invalid_grant');
      assert.equal(op.counters.reusedRefreshTokens, reusedBefore + 1);
      await assert.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token), (e: oidc.ResponseBodyError) => e.error === 'invalid_grant');
    } finally {
      callback.close();
    }
  });

  test('revocation endpoint ends a refresh token (RFC 7009)', async () => {
    const { config, tokens } = await signedIn(op, 'bob');
    assert.equal((await op.introspect(tokens.refresh_token!)).active, true);
    await oidc.tokenRevocation(config, tokens.refresh_token!);
    assert.equal((await op.introspect(tokens.refresh_token!)).active, false);
  });

  test('device flow: the person approves in Chromium while the client polls', async () => {
    const config = await oidc.discovery(new URL(op.issuer), op.nativeClient.client_id, undefined, oidc.None(), insecureLoopback);
    const device = await oidc.initiateDeviceAuthorization(config, { scope: 'openid offline_access api:read' });
    assert.ok(device.user_code && device.verification_uri_complete);
    const approved = op.approveDevice(device.verification_uri_complete!, { login: 'carol' });
    const tokens = await oidc.pollDeviceAuthorizationGrant(config, device);
    assert.match(await approved, /Sign-in Success|success/i);
    assert.ok(tokens.access_token);
    assert.equal(tokens.claims()?.sub, 'carol');
    assert.ok(op.requests(DEVICE_GRANT) >= 1);
  });

  test('custom grant plugin_install returns refresh_token_expires_in, and its refresh token refreshes', async () => {
    op.settings.pluginRefreshTokenTtl = 30 * 24 * 3600;
    const response = await fetch(op.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: PLUGIN_GRANT, install_id: 'inst-42', client_id: op.pluginClient.client_id, client_secret: op.pluginClient.client_secret }),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body['refresh_token_expires_in'], 30 * 24 * 3600);
    assert.equal(body['expires_in'], 120);
    assert.equal(typeof body['refresh_token'], 'string');
    assert.equal((await op.introspect(String(body['access_token']))).active, true);
    const missing = await fetch(op.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: PLUGIN_GRANT, client_id: op.pluginClient.client_id, client_secret: op.pluginClient.client_secret }),
    });
    assert.equal(missing.status, 400);
    const config = await oidc.discovery(new URL(op.issuer), op.pluginClient.client_id, op.pluginClient.client_secret, oidc.ClientSecretPost(op.pluginClient.client_secret), insecureLoopback);
    const refreshed = await oidc.refreshTokenGrant(config, String(body['refresh_token']));
    assert.ok(refreshed.access_token);
    assert.equal(op.requests(PLUGIN_GRANT), 2);
  });

  describe('fault switch on the token endpoint', () => {
    test('503 with Retry-After, then clears after `times`', async () => {
      await op.setFault({ mode: '503', retryAfter: 7, times: 2 });
      for (let i = 0; i < 2; i++) {
        const res = await tokenRequest(op, { grant_type: 'client_credentials' });
        assert.equal(res.status, 503);
        assert.equal(res.headers.get('retry-after'), '7');
        assert.equal(((await res.json()) as { error: string }).error, 'temporarily_unavailable');
      }
      assert.equal((await tokenRequest(op, { grant_type: 'client_credentials' })).status, 200);
      assert.equal(op.fault, null);
    });

    test('429 with Retry-After', async () => {
      await op.setFault({ mode: '429', retryAfter: 3 });
      const res = await tokenRequest(op, { grant_type: 'client_credentials' });
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('retry-after'), '3');
      await op.setFault(null);
      assert.equal((await tokenRequest(op, { grant_type: 'client_credentials' })).status, 200);
    });

    test('refused connections, then the provider comes back on the same port', async () => {
      await op.setFault({ mode: 'refuse' });
      await assert.rejects(tokenRequest(op, { grant_type: 'client_credentials' }), (e: Error & { cause?: { code?: string } }) => e.cause?.code === 'ECONNREFUSED');
      await assert.rejects(fetch(`${op.issuer}/.well-known/openid-configuration`), (e: Error & { cause?: { code?: string } }) => e.cause?.code === 'ECONNREFUSED');
      await op.setFault(null);
      assert.equal((await tokenRequest(op, { grant_type: 'client_credentials' })).status, 200);
    });

    test('a hang: the request is never answered until the fault clears', async () => {
      await op.setFault({ mode: 'hang' });
      const started = Date.now();
      await assert.rejects(tokenRequest(op, { grant_type: 'client_credentials' }, AbortSignal.timeout(800)), { name: 'TimeoutError' });
      assert.ok(Date.now() - started >= 750);
      const pending = tokenRequest(op, { grant_type: 'client_credentials' }, AbortSignal.timeout(10_000));
      await new Promise((r) => setTimeout(r, 200));
      await op.setFault(null);
      await assert.rejects(pending); // the held connection is reset, not answered
      assert.equal((await tokenRequest(op, { grant_type: 'client_credentials' })).status, 200);
    });

    test('the response dropped after the tokens were issued: the refresh token rotated unseen', async () => {
      const { tokens } = await signedIn(op, 'dave');
      await op.setFault({ mode: 'drop', times: 1 });
      const dropped = await tokenRequest(op, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }).then(() => 'answered', (e: Error) => e.name);
      assert.notEqual(dropped, 'answered');
      assert.equal(op.counters.faulted['drop'], 1);
      // The provider did rotate: the old refresh token is now spent.
      assert.equal((await op.introspect(tokens.refresh_token!)).active, false);
    });
  });
});
