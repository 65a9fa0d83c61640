import { createHmac } from 'node:crypto';
import type { AccountDefinition } from '../../../shared/account.ts';
import type { TokenRecord } from '../vault/token-record.ts';

/** What a local tool receives: never a refresh token. */
export interface TokenAnswer {
  accessToken: string;
  tokenType: string;
  expiresAt: string | null;
  expiresIn: number | null;
  scope: string;
  account: string;
  appsecretProof?: string;
}

/** Milliseconds the access token stays valid (Infinity when it has no known expiry, 0 when none). */
export function validForMs(record: TokenRecord, now: Date): number {
  if (!record.accessToken) return 0;
  if (!record.accessTokenExpiresAt) return Number.POSITIVE_INFINITY;
  return Date.parse(record.accessTokenExpiresAt) - now.getTime();
}

/** Whether the account can get a new access token without the person. */
export function canRenew(account: AccountDefinition, record: TokenRecord | null): boolean {
  if (account.flow === 'manual') return false;
  if (record?.refreshToken) return true;
  return account.flow === 'client-credentials' || (account.flow === 'grant' && !!account.grantType);
}

export function tokenAnswer(account: AccountDefinition, record: TokenRecord, now: Date): TokenAnswer {
  const expiresAt = record.accessTokenExpiresAt;
  const answer: TokenAnswer = {
    accessToken: record.accessToken!,
    tokenType: record.tokenType,
    expiresAt,
    expiresIn: expiresAt ? Math.max(0, Math.floor((Date.parse(expiresAt) - now.getTime()) / 1000)) : null,
    scope: (record.scopes.length ? record.scopes : account.scopes).join(' '),
    account: account.id,
  };
  if (account.appsecretProof && record.clientSecret) {
    // appsecret_proof = hex HMAC-SHA256 of the access token, keyed with the app secret.
    answer.appsecretProof = createHmac('sha256', record.clientSecret).update(record.accessToken!).digest('hex');
  }
  return answer;
}
