import * as oidc from 'openid-client';
import { TokentrayError } from '../../../shared/errors.ts';
import { toGrantResult, jwtExpiry, type GrantResult } from './grant-result.ts';
import { startLoopbackRedirect } from './loopback-redirect.ts';
import type { OAuthClient } from './oauth-client.ts';
import { findPreset } from './presets.ts';
import { ProviderError } from './provider-error.ts';
import { assertSafeUrl } from './url-policy.ts';

/** Opens a URL in the person's system browser (never an embedded webview, RFC 8252 §8.12). */
export interface BrowserOpener {
  open(url: string): Promise<void>;
}

export type SignInEvent =
  | { event: 'authorize'; url: string }
  | { event: 'device_code'; user_code: string; verification_uri: string; verification_uri_complete: string | null; expires_in: number };

export interface SignInOptions {
  /** Hand the URL out through `onEvent` instead of opening a browser. */
  noBrowser?: boolean;
  browser?: BrowserOpener;
  onEvent?: (event: SignInEvent) => void;
  timeoutMs?: number;
  /** Aborting cancels the sign-in (the person gave up, or started another one). */
  signal?: AbortSignal;
  /** For manual accounts. */
  token?: string;
  expiresAt?: Date | null;
  now: () => Date;
}

export const SIGN_IN_TIMEOUT_MS = 5 * 60_000;

/** Runs the account's flow to a first token (and its exchange step, if configured). */
export async function signInFlow(client: OAuthClient, options: SignInOptions): Promise<GrantResult> {
  const account = client.account;
  let result: GrantResult;
  switch (account.flow) {
    case 'browser':
      result = await browserFlow(client, options);
      break;
    case 'device':
      result = await deviceFlow(client, options);
      break;
    case 'client-credentials':
      result = await client.clientCredentials();
      break;
    case 'grant':
      result = await client.customGrant(account.grantType!, account.params);
      break;
    case 'manual':
      return manualToken(options);
  }
  return account.exchange ? applyExchange(client, result) : result;
}

/** The exchanged token replaces the first one; a refresh token from either is kept. */
export async function applyExchange(client: OAuthClient, first: GrantResult): Promise<GrantResult> {
  const exchanged = await client.exchange(first.accessToken);
  return {
    ...exchanged,
    refreshToken: exchanged.refreshToken ?? first.refreshToken,
    refreshTokenExpiresAt: exchanged.refreshToken ? exchanged.refreshTokenExpiresAt : first.refreshTokenExpiresAt,
    idToken: exchanged.idToken ?? first.idToken,
    idTokenExpiresAt: exchanged.idToken ? exchanged.idTokenExpiresAt : first.idTokenExpiresAt,
  };
}

function manualToken(options: SignInOptions): GrantResult {
  const token = options.token?.trim();
  if (!token) throw new TokentrayError('invalid_config', 'a manual account needs a token (--token-stdin)');
  return {
    accessToken: token,
    tokenType: 'Bearer',
    issuedAt: options.now(),
    expiresAt: options.expiresAt ?? jwtExpiry(token),
    refreshToken: null,
    refreshTokenExpiresAt: null,
    idToken: null,
    idTokenExpiresAt: null,
    scopes: null,
  };
}

async function browserFlow(client: OAuthClient, options: SignInOptions): Promise<GrantResult> {
  const scopes = client.scopes;
  const state = oidc.randomState();
  const nonce = scopes.includes('openid') ? oidc.randomNonce() : undefined;
  const verifier = oidc.randomPKCECodeVerifier();
  const redirect = await startLoopbackRedirect(state, options.timeoutMs ?? SIGN_IN_TIMEOUT_MS);
  const cancel = () => redirect.close(); // rejects the pending callback with "cancelled"
  options.signal?.addEventListener('abort', cancel, { once: true });
  try {
    if (options.signal?.aborted) cancel();
    const params: Record<string, string> = {
      redirect_uri: redirect.redirectUri,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      ...findPreset(client.account.provider.preset)?.authorizationParams,
    };
    if (scopes.length > 0) params['scope'] = scopes.join(' ');
    if (nonce) params['nonce'] = nonce;
    // OIDC Core §11 lets a provider ignore offline_access without prompt=consent.
    if (scopes.includes('offline_access') && client.isOidc) params['prompt'] = 'consent';
    const config = await client.configuration();
    const url = oidc.buildAuthorizationUrl(config, params).href;
    assertSafeUrl(url, 'the authorization URL');
    options.onEvent?.({ event: 'authorize', url });
    if (!options.noBrowser) {
      if (!options.browser) throw new TokentrayError('invalid_config', 'no browser to open; use --no-browser to get the URL');
      await options.browser.open(url);
    }
    const callback = await redirect.callback;
    return await client.request('authorization code exchange', async (cfg) =>
      toGrantResult(
        await oidc.authorizationCodeGrant(cfg, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: !!nonce }),
        options.now(),
      ),
    );
  } catch (error) {
    throw signInError(error);
  } finally {
    options.signal?.removeEventListener('abort', cancel);
    redirect.close();
  }
}

async function deviceFlow(client: OAuthClient, options: SignInOptions): Promise<GrantResult> {
  const scope = client.scopes.join(' ');
  try {
    const device = await client.request('device authorization', (config) => oidc.initiateDeviceAuthorization(config, scope ? { scope } : {}));
    // REQUIREMENTS 1: what the provider says to open is checked before any browser or window sees it.
    for (const url of [device.verification_uri, device.verification_uri_complete]) if (url) assertSafeUrl(url, 'the device verification URL');
    const verification = device.verification_uri_complete ?? device.verification_uri;
    options.onEvent?.({
      event: 'device_code',
      user_code: device.user_code,
      verification_uri: device.verification_uri,
      verification_uri_complete: device.verification_uri_complete ?? null,
      expires_in: device.expires_in,
    });
    if (!options.noBrowser && options.browser) await options.browser.open(verification);
    const expiry = AbortSignal.timeout(Math.min(device.expires_in * 1000, options.timeoutMs ?? SIGN_IN_TIMEOUT_MS * 3));
    const deadline = options.signal ? AbortSignal.any([expiry, options.signal]) : expiry;
    // openid-client polls at the given interval and adds 5 s on every slow_down (RFC 8628 §3.5).
    return await client.request('device flow', async (config) =>
      toGrantResult(await oidc.pollDeviceAuthorizationGrant(config, device, undefined, { signal: deadline }), options.now()),
    );
  } catch (error) {
    throw signInError(error);
  }
}

function signInError(error: unknown): TokentrayError {
  if (error instanceof ProviderError) {
    if (error.oauthError === 'access_denied') return new TokentrayError('sign_in_failed', 'the sign-in was denied', { cause: error });
    if (error.oauthError === 'expired_token') return new TokentrayError('sign_in_failed', 'the device code expired before the sign-in was approved', { cause: error });
    if (error.code === 'provider_error') return new TokentrayError('sign_in_failed', error.message, { cause: error });
    if (error.timedOut && error.message.includes('device flow')) return new TokentrayError('sign_in_failed', 'the device sign-in timed out or was cancelled', { cause: error });
    return error;
  }
  if (error instanceof TokentrayError) return error;
  return new TokentrayError('sign_in_failed', `sign-in failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}
