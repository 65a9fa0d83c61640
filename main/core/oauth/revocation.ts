import { backoffDelayMs } from '../refresh/refresh-policy.ts';
import type { TokenRecord } from '../vault/token-record.ts';
import type { OAuthClient } from './oauth-client.ts';
import { ProviderError } from './provider-error.ts';

const ATTEMPTS = 5;

/** Revokes the grant (the refresh token, else the access token); 503 is retried (RFC 7009 §2.2.1). */
export async function revokeWithRetry(client: OAuthClient, record: Pick<TokenRecord, 'refreshToken' | 'accessToken'>, random: () => number = Math.random): Promise<void> {
  const token = record.refreshToken ?? record.accessToken;
  if (!token) return;
  const hint = record.refreshToken ? 'refresh_token' : 'access_token';
  for (let attempt = 0; ; attempt++) {
    try {
      await client.revoke(token, hint);
      return;
    } catch (error) {
      if (!(error instanceof ProviderError && error.code === 'provider_unavailable') || attempt >= ATTEMPTS - 1) throw error;
      await new Promise((r) => setTimeout(r, backoffDelayMs(attempt, { baseMs: 500, capMs: 5000 }, error.retryAfterMs, random)));
    }
  }
}
