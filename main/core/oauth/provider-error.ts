import * as oidc from 'openid-client';
import { TokentrayError, type ErrorCode } from '../../../shared/errors.ts';
import type { ResponseProbe } from './request-sent.ts';
import { systemMs } from '../clock.ts';

/** What the token endpoint (or the network on the way) said, sorted by how Tokentray reacts. */
export class ProviderError extends TokentrayError {
  /** The RFC 6749 §5.2 `error`, when the provider sent one. */
  readonly oauthError: string | null;
  readonly httpStatus: number | null;
  /** From `Retry-After`, in milliseconds. */
  readonly retryAfterMs: number | null;
  /** No answer came in time (before or after the request was sent). */
  readonly timedOut: boolean;
  /** The request was sent and no answer came (a timeout or a cut connection): REQUIREMENTS 9. */
  readonly unanswered: boolean;
  /** A 200 answer that was not usable but carried a refresh token: the grant lives on in it (never logged). */
  readonly issuedRefreshToken: string | null;

  constructor(code: ErrorCode, message: string, details: { oauthError?: string | null; httpStatus?: number | null; retryAfterMs?: number | null; timedOut?: boolean; unanswered?: boolean; issuedRefreshToken?: string | null; cause?: unknown }) {
    super(code, message, { cause: details.cause, retryable: code === 'provider_unavailable' });
    this.name = 'ProviderError';
    this.oauthError = details.oauthError ?? null;
    this.httpStatus = details.httpStatus ?? null;
    this.retryAfterMs = details.retryAfterMs ?? null;
    this.timedOut = details.timedOut ?? false;
    this.unanswered = details.unanswered ?? false;
    this.issuedRefreshToken = details.issuedRefreshToken ?? null;
    // Not enumerable: an error logged with its fields must not carry the token (the redactor
    // would mask it, but it should never get that far).
    Object.defineProperty(this, 'issuedRefreshToken', { enumerable: false });
  }
}

/** RFC 6749 §5.2 errors that mean "fix the configuration": keep the refresh token, stop retrying. */
const MISCONFIGURED = new Set(['invalid_client', 'unauthorized_client', 'unsupported_grant_type', 'invalid_request', 'invalid_scope']);

const FIXES: Record<string, string> = {
  invalid_client: 'check the client id and client secret (and how the secret is sent: --token-endpoint-auth)',
  unauthorized_client: 'the provider does not allow this client to use this grant type; enable it for the client',
  unsupported_grant_type: 'the provider does not support this grant type; check --grant-type and the preset',
  invalid_request: 'the provider rejected the request as malformed; check the endpoints and --param values',
  invalid_scope: 'the provider rejected the requested scope',
};

export function parseRetryAfter(value: string | null, now = systemMs()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}


/** The one place where openid-client's and fetch's errors become Tokentray errors. */
export function toProviderError(error: unknown, what: string, probe: ResponseProbe, requested?: { scope?: string }): ProviderError {
  if (error instanceof ProviderError) return error;
  const transient = (message: string, extra: { httpStatus?: number | null; timedOut?: boolean; unanswered?: boolean } = {}) =>
    new ProviderError('provider_unavailable', `${what}: ${message}`, { ...extra, retryAfterMs: parseRetryAfter(probe.retryAfter), cause: error });

  if (error instanceof oidc.ResponseBodyError) {
    const status = error.status;
    if (status >= 500 || status === 429 || status === 408) return transient(`the provider answered HTTP ${status} (${error.error})`, { httpStatus: status });
    return fromOAuthError(error.error, error.error_description, status, what, error, requested);
  }
  if (error instanceof oidc.WWWAuthenticateChallengeError) {
    // The status decides before the headers: a 5xx or 429 is an outage whatever it carries.
    if (error.status >= 500 || error.status === 429) return transient(`the provider answered HTTP ${error.status}`, { httpStatus: error.status });
    const code = error.cause[0]?.parameters.error ?? (error.status === 401 ? 'invalid_client' : 'invalid_request');
    return fromOAuthError(code, error.cause[0]?.parameters.error_description, error.status, what, error, requested);
  }
  // openid-client wraps what fetch threw (ClientError → TimeoutError / TypeError → system error).
  const chain = causes(error);
  if (chain.some((e) => e.name === 'TimeoutError' || e.name === 'AbortError')) {
    return probe.sent
      ? transient('the provider did not answer in time', { timedOut: true, unanswered: true })
      : transient('could not connect to the provider in time', { timedOut: true });
  }
  const network = chain.find((e) => e instanceof TypeError && /fetch failed|network|socket|terminated/i.test(e.message));
  if (network) {
    const root = chain[chain.length - 1] as Error & { code?: string };
    // Cut after the request went out: the provider may have issued tokens (and rotated).
    return probe.sent
      ? transient(`the connection was cut before the answer (${root.code ?? root.message})`, { unanswered: true })
      : transient(`network error (${root.code ?? root.message})`);
  }
  if (probe.status !== null && (probe.status >= 500 || probe.status === 429)) {
    return transient(`the provider answered HTTP ${probe.status}`, { httpStatus: probe.status });
  }
  const tooLarge = chain.find((e) => e.name === 'BodyTooLargeError');
  if (tooLarge) return new ProviderError('provider_error', `${what}: ${tooLarge.message}; it was not read`, { httpStatus: probe.status, cause: error });
  // REQUIREMENTS 4: an ID token that fails its signature or claim checks is not a broken
  // configuration to stop for, and not to be stored: say what failed.
  const idToken = chain.find((e) => /\bJWT\b|ID Token|JWS/.test(e.message));
  const issuedRefreshToken = probe.status === 200 ? (probe.issuedRefreshToken ?? null) : null;
  if (idToken) return new ProviderError('provider_error', `${what}: the provider's ID token did not validate (${idToken.message})`, { httpStatus: probe.status, issuedRefreshToken, cause: error });
  const message = error instanceof Error ? error.message : String(error);
  if (probe.status !== null && probe.status >= 400) {
    // A 4xx without an OAuth error body is not the provider refusing us: it is a proxy, a
    // captive portal, a timeout page (408) or an outage page. Retry; say what came back.
    return transient(`HTTP ${probe.status} without an OAuth error (a proxy or an outage page?); if this lasts, check the endpoint URL`, { httpStatus: probe.status });
  }
  // A successful status with an answer that is not a token response (HTML from a captive
  // portal, wrong types, no access_token, a redirect): nothing is stored, the refresh token is
  // kept, and it is tried again later — it is not the person's configuration that is wrong.
  return new ProviderError('provider_error', `${what}: the provider's answer was not a valid token response (${message})`, { httpStatus: probe.status, issuedRefreshToken, cause: error });
}

function causes(error: unknown): Error[] {
  const chain: Error[] = [];
  let current: unknown = error;
  while (current instanceof Error && chain.length < 8) {
    chain.push(current);
    current = current.cause;
  }
  return chain;
}

function fromOAuthError(code: string, description: string | undefined, status: number, what: string, cause: unknown, requested?: { scope?: string }): ProviderError {
  const said = description ? `${code}: ${description}` : code;
  if (code === 'invalid_grant') {
    return new ProviderError('invalid_grant', `${what}: the provider ended the grant (${said}); sign in again`, { oauthError: code, httpStatus: status, cause });
  }
  if (MISCONFIGURED.has(code)) {
    const scopeHint = code === 'invalid_scope' && requested?.scope ? ` (requested: ${requested.scope})` : '';
    return new ProviderError('misconfigured', `${what}: ${said}${scopeHint} — ${FIXES[code]}`, { oauthError: code, httpStatus: status, cause });
  }
  if (code === 'temporarily_unavailable' || code === 'server_error') {
    return new ProviderError('provider_unavailable', `${what}: ${said}`, { oauthError: code, httpStatus: status, cause });
  }
  return new ProviderError('misconfigured', `${what}: the provider refused (${said})`, { oauthError: code, httpStatus: status, cause });
}
