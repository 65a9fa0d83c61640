/**
 * When to refresh, and how long to wait after a failure. Pure functions of times, so the
 * scheduler's decisions can be checked without waiting.
 */
export const MIN_REFRESH_WINDOW_MS = 60_000;
export const KEEP_ALIVE_FRACTION = 0.1;

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 2_000, capMs: 5 * 60_000 };

/**
 * Retrying a failed keychain write: the keychain is local, one call per round whatever the
 * number of pending accounts, so the wait stays short (a keyring that restarts is written to
 * within seconds, not after a provider-sized backoff of minutes).
 */
export const KEYCHAIN_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 4_000 };

/** The keychain's retry policy, never slower than the provider's (a test's short policy stays short). */
export function keychainBackoff(provider: BackoffPolicy): BackoffPolicy {
  return { baseMs: Math.min(KEYCHAIN_BACKOFF.baseMs, provider.baseMs), capMs: Math.min(KEYCHAIN_BACKOFF.capMs, provider.capMs) };
}

/** Retry-After is honoured, but a provider cannot park an account for more than an hour. */
const MAX_RETRY_AFTER_MS = 60 * 60_000;

/**
 * Full jitter (a random wait up to base·2^attempt, capped), never shorter than Retry-After.
 * `attempt` counts failures so far, from 0.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, retryAfterMs: number | null, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  const jittered = Math.floor(random() * ceiling);
  const floor = retryAfterMs === null ? 0 : Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
  return Math.max(jittered, floor, 50);
}

/**
 * How long before expiry a token is refreshed: max(60 s, 20 % of its lifetime), but never more
 * than half its lifetime, so that short-lived tokens are not refreshed back to back.
 */
export function refreshWindowMs(lifetimeMs: number): number {
  return Math.min(Math.max(MIN_REFRESH_WINDOW_MS, lifetimeMs * 0.2), lifetimeMs * 0.5);
}

/** The `min_ttl` actually applied: as asked, but at most half the token's lifetime. */
export function effectiveMinTtlMs(minTtlMs: number, lifetimeMs: number | null): number {
  return lifetimeMs === null ? minTtlMs : Math.min(minTtlMs, lifetimeMs / 2);
}

export interface TokenTimes {
  accessTokenExpiresAt: Date | null;
  accessTokenIssuedAt: Date | null;
  refreshTokenExpiresAt: Date | null;
  refreshTokenIssuedAt: Date | null;
}

export function lifetimeMs(expiresAt: Date | null, issuedAt: Date | null): number | null {
  if (!expiresAt || !issuedAt) return null;
  const ms = expiresAt.getTime() - issuedAt.getTime();
  return ms > 0 ? ms : null;
}

/**
 * How far a refresh may be moved earlier at random, so that tokens that expire together (many
 * accounts signed in or refreshed in the same second, a start after a long sleep) do not all
 * fall due in the same second: 10 % of the window, but at least 45 s — over 45 s no second
 * holds more than ≈4 % of them — and never more than half the window.
 */
export function refreshJitterMs(windowMs: number): number {
  return Math.min(windowMs / 2, Math.max(windowMs * 0.1, MIN_JITTER_MS));
}
const MIN_JITTER_MS = 45_000;

/**
 * The next background refresh: ahead of the access token's expiry (moved earlier at random by
 * up to refreshJitterMs, never later), and — when the refresh token's lifetime is known — once no
 * more than 10 % of it is left, even when nobody asks for a token (keep-alive).
 */
export function nextRefreshAt(times: TokenTimes, now: Date, canRenew: boolean, hasRefreshToken: boolean, random: () => number = Math.random): Date | null {
  if (!canRenew) return null;
  const candidates: number[] = [];
  if (times.accessTokenExpiresAt) {
    const lifetime = lifetimeMs(times.accessTokenExpiresAt, times.accessTokenIssuedAt) ?? Math.max(0, times.accessTokenExpiresAt.getTime() - now.getTime());
    const window = refreshWindowMs(lifetime);
    candidates.push(times.accessTokenExpiresAt.getTime() - window - random() * refreshJitterMs(window));
  }
  if (hasRefreshToken && times.refreshTokenExpiresAt) {
    const lifetime = lifetimeMs(times.refreshTokenExpiresAt, times.refreshTokenIssuedAt) ?? Math.max(0, times.refreshTokenExpiresAt.getTime() - now.getTime());
    candidates.push(times.refreshTokenExpiresAt.getTime() - lifetime * KEEP_ALIVE_FRACTION);
  }
  if (candidates.length === 0) return null;
  return new Date(Math.max(now.getTime(), Math.min(...candidates)));
}
