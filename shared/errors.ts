/**
 * The one error type of Tokentray. Every failure carries a `code` from this closed union so
 * callers `switch (err.code)` and tests assert codes, never messages.
 */
export const ERROR_CODES = [
  // keychain and vault
  'keychain_unavailable',
  'keychain_error',
  'record_corrupt',
  'record_missing',
  'record_too_large',
  // account store and files
  'store_corrupt',
  'store_io',
  'invalid_account_id',
  'invalid_account',
  'account_exists',
  'account_not_found',
  // provider and OAuth
  'invalid_config',
  'insecure_url',
  'provider_unavailable',
  'provider_error',
  'reauth_required',
  'misconfigured',
  'invalid_grant',
  'sign_in_failed',
  'timeout',
  // local endpoint
  'bad_request',
  'unauthorized',
  'forbidden_host',
  'forbidden_origin',
  'account_not_granted',
  'payload_too_large',
  'locked',
  'broker_running',
  'broker_not_running',
  'client_denied',
  'approval_timeout',
  'rate_limited',
  'not_found',
  // anything we did not foresee
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface TokentrayErrorOptions {
  cause?: unknown;
  /** Whether trying the same thing again later may succeed (network, 5xx, a busy keychain). */
  retryable?: boolean;
}

export class TokentrayError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: TokentrayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TokentrayError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }

  /** A plain, serialisable view for APIs and `--json` output (no cause: it may hold details). */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isTokentrayError(value: unknown): value is TokentrayError {
  return value instanceof TokentrayError;
}

export function hasCode(value: unknown, code: ErrorCode): boolean {
  return value instanceof TokentrayError && value.code === code;
}
