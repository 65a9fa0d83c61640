import type { TokenEndpointResponse } from 'openid-client';
import { decodeJwt } from 'jose';

/** One token endpoint answer, normalised. `refreshToken: null` means "none was sent". */
export interface GrantResult {
  accessToken: string;
  tokenType: string;
  issuedAt: Date;
  expiresAt: Date | null;
  refreshToken: string | null;
  refreshTokenExpiresAt: Date | null;
  idToken: string | null;
  idTokenExpiresAt: Date | null;
  /** Granted scopes when the provider said; null when it did not (then they are as requested). */
  scopes: string[] | null;
}

/** The longest lifetimes believed: beyond them a provider's number is clamped, never fatal. */
const MAX_ACCESS_TOKEN_S = 365 * 24 * 3600;
const MAX_REFRESH_TOKEN_S = 10 * 365 * 24 * 3600;

function seconds(value: unknown, max: number): number | null {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.min(n, max) : null;
}

/** Expiry of a JWT from its `exp`, read locally (a token is never sent to a decoder service). */
export function jwtExpiry(token: string): Date | null {
  try {
    const { exp } = decodeJwt(token);
    // An `exp` past year 9999 cannot be written as an ISO date: such a token is treated as having no known expiry.
    return typeof exp === 'number' && Number.isFinite(exp) && exp * 1000 < 253402300800000 ? new Date(exp * 1000) : null;
  } catch {
    return null;
  }
}

export function toGrantResult(response: TokenEndpointResponse, now: Date): GrantResult {
  const at = (s: number | null) => (s === null ? null : new Date(now.getTime() + s * 1000));
  const expiresIn = seconds(response.expires_in, MAX_ACCESS_TOKEN_S);
  const refreshExpiresIn = seconds((response as Record<string, unknown>)['refresh_token_expires_in'], MAX_REFRESH_TOKEN_S);
  const idToken = typeof response.id_token === 'string' ? response.id_token : null;
  return {
    accessToken: response.access_token,
    tokenType: response.token_type ? capitalise(response.token_type) : 'Bearer',
    issuedAt: now,
    expiresAt: at(expiresIn) ?? jwtExpiry(response.access_token),
    refreshToken: typeof response.refresh_token === 'string' && response.refresh_token ? response.refresh_token : null,
    refreshTokenExpiresAt: at(refreshExpiresIn),
    idToken,
    idTokenExpiresAt: idToken ? jwtExpiry(idToken) : null,
    scopes: typeof response.scope === 'string' ? response.scope.split(' ').filter(Boolean) : null,
  };
}

function capitalise(type: string): string {
  return type.toLowerCase() === 'bearer' ? 'Bearer' : type;
}
