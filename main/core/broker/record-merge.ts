import type { GrantResult } from '../oauth/grant-result.ts';
import type { TokenRecord, TokenRecordInput } from '../vault/token-record.ts';

/**
 * The record after a token response. RFC 6749 §6: a response without a refresh token keeps
 * the old one — except after a new sign-in, which starts the grant afresh.
 */
export function mergeGrant(previous: TokenRecord | null, result: GrantResult, fallbackScopes: string[], options: { freshSignIn: boolean }): TokenRecordInput {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  const keepOld = !result.refreshToken && !options.freshSignIn;
  return {
    tokenType: result.tokenType,
    accessToken: result.accessToken,
    accessTokenExpiresAt: iso(result.expiresAt),
    accessTokenIssuedAt: iso(result.issuedAt),
    refreshToken: result.refreshToken ?? (keepOld ? (previous?.refreshToken ?? null) : null),
    refreshTokenExpiresAt: result.refreshToken ? iso(result.refreshTokenExpiresAt) : keepOld ? (previous?.refreshTokenExpiresAt ?? null) : null,
    refreshTokenIssuedAt: result.refreshToken ? iso(result.issuedAt) : keepOld ? (previous?.refreshTokenIssuedAt ?? null) : null,
    idToken: result.idToken ?? previous?.idToken ?? null,
    idTokenExpiresAt: result.idToken ? iso(result.idTokenExpiresAt) : (previous?.idTokenExpiresAt ?? null),
    scopes: result.scopes ?? (previous?.scopes.length ? previous.scopes : fallbackScopes),
    clientSecret: previous?.clientSecret ?? null,
  };
}

/**
 * The record after an unusable 200 answer that carried a new refresh token: everything as it
 * was (the access token still served while valid), but the grant continues with the new
 * refresh token — the one presented is spent at a provider that rotates.
 */
export function withIssuedRefreshToken(previous: TokenRecord, refreshToken: string, at: Date): TokenRecordInput {
  return { ...recordInput(previous), refreshToken, refreshTokenIssuedAt: at.toISOString(), refreshTokenExpiresAt: null };
}

/** A record's secrets and times without its version fields, ready to be written again. */
export function recordInput(record: TokenRecord | null): TokenRecordInput {
  if (!record) return {};
  const { v: _v, generation: _g, updatedAt: _u, ...rest } = record;
  return rest;
}

/** The token times an account's state shows (never the tokens). */
export function expiries(record: TokenRecord): { accessTokenExpiresAt: string | null; refreshTokenExpiresAt: string | null } {
  return { accessTokenExpiresAt: record.accessTokenExpiresAt, refreshTokenExpiresAt: record.refreshTokenExpiresAt };
}
