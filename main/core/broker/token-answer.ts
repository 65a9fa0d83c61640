import { createHmac } from 'node:crypto';
import type { AccountDefinition } from '../../../shared/account.ts';
import type { TokenRecord } from '../vault/token-record.ts';
import { lifetimeMs } from '../refresh/refresh-policy.ts';

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

/** A record's expiry and lifetime in ms, parsed once: records are never changed in place (a new token is a new record). */
export interface RecordTimes {
  /** null: no known expiry. */
  expiresMs: number | null;
  lifetimeMs: number | null;
}

const TIMES = new WeakMap<TokenRecord, RecordTimes>();

export function recordTimes(record: TokenRecord): RecordTimes {
  let times = TIMES.get(record);
  if (!times) {
    const expires = record.accessTokenExpiresAt ? new Date(record.accessTokenExpiresAt) : null;
    const issued = record.accessTokenIssuedAt ? new Date(record.accessTokenIssuedAt) : null;
    times = { expiresMs: expires?.getTime() ?? null, lifetimeMs: lifetimeMs(expires, issued) };
    TIMES.set(record, times);
  }
  return times;
}

const ANSWERS = new WeakMap<TokenRecord, { account: AccountDefinition; answer: TokenAnswer }>();

/**
 * `tokenAnswer`, built once per record, account definition and second of `expires_in` (the
 * hot path hands out the same answer thousands of times a second; definitions and records are
 * replaced, never changed, so their identity says nothing changed). Frozen: it is shared.
 */
export function cachedTokenAnswer(account: AccountDefinition, record: TokenRecord, nowMs: number): TokenAnswer {
  const { expiresMs } = recordTimes(record);
  const expiresIn = expiresMs === null ? null : Math.max(0, Math.floor((expiresMs - nowMs) / 1000));
  const hit = ANSWERS.get(record);
  if (hit && hit.account === account && hit.answer.expiresIn === expiresIn) return hit.answer;
  const answer = Object.freeze(tokenAnswer(account, record, new Date(nowMs)));
  ANSWERS.set(record, { account, answer });
  return answer;
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
