import type { ServerResponse } from 'node:http';
import { ERROR_STATUS, type ApiErrorCode } from '../../../shared/api.ts';
import { TokentrayError } from '../../../shared/errors.ts';
import { ProviderError } from '../oauth/provider-error.ts';
import { RateLimitError } from './rate-limiter.ts';

/** Every response: JSON, never cached, never CORS, never sniffed. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** `sendJson` for a body already serialised (as text, or encoded). */
export function sendJsonText(res: ServerResponse, status: number, text: string | Buffer, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, code: ApiErrorCode, message: string, headers: Record<string, string> = {}, status?: number): void {
  sendJson(res, status ?? ERROR_STATUS[code], { error: { code, message } }, headers);
}

/** Maps a Tokentray error to the documented API error. */
export function sendFailure(res: ServerResponse, error: unknown): void {
  if (!(error instanceof TokentrayError)) {
    sendJson(res, 500, { error: { code: 'internal', message: 'internal error' } });
    return;
  }
  switch (error.code) {
    case 'account_not_found':
    case 'reauth_required':
    case 'misconfigured':
    case 'account_exists':
    case 'locked':
    case 'bad_request':
    case 'unauthorized':
    case 'account_not_granted':
    case 'client_denied':
    case 'approval_timeout':
    case 'not_found':
    case 'payload_too_large':
    case 'forbidden_host':
    case 'forbidden_origin':
      sendError(res, error.code, error.message);
      return;
    case 'rate_limited': {
      const seconds = error instanceof RateLimitError ? Math.max(1, Math.ceil(error.retryAfterMs / 1000)) : 60;
      sendError(res, 'rate_limited', error.message, { 'retry-after': String(seconds) });
      return;
    }
    case 'provider_unavailable': {
      const seconds = error instanceof ProviderError && error.retryAfterMs !== null ? Math.max(1, Math.ceil(error.retryAfterMs / 1000)) : 5;
      sendError(res, 'provider_unavailable', error.message, { 'retry-after': String(seconds) });
      return;
    }
    case 'invalid_grant':
      sendError(res, 'reauth_required', error.message);
      return;
    case 'keychain_unavailable':
    case 'keychain_error':
      // The tokens are in the keychain, which is not answering: retry soon (never a 500).
      sendError(res, 'keychain_unavailable', `the keychain is not answering, so the stored tokens cannot be read: ${error.message}`, { 'retry-after': '5' });
      return;
    case 'invalid_account':
    case 'invalid_account_id':
    case 'invalid_config':
    case 'insecure_url':
      sendError(res, 'bad_request', error.message);
      return;
    case 'sign_in_failed':
    case 'record_corrupt':
      sendError(res, 'reauth_required', error.message);
      return;
    default:
      sendJson(res, 500, { error: { code: 'internal', message: error.message } });
  }
}
