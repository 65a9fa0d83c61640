/**
 * A token answer whose lifetime field is not a usable number (zero or negative, not finite, a
 * word, an array): the field is dropped before the answer is validated, as if the provider had left it
 * out (RFC 6749 §5.1 only recommends it): the token's own `exp`, if any, then decides. Rejecting
 * the answer instead would throw away a refresh token the provider has already rotated, and
 * the next refresh would present the spent one (the grant is revoked). Huge values are clamped
 * later (grant-result.ts).
 */
const LIFETIMES = ['expires_in', 'refresh_token_expires_in'] as const;

export function withUsableLifetimes(body: string): string {
  if (!body.includes('expires_in')) return body;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return body; // not JSON: the parser says so
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json) || !('access_token' in json)) return body;
  const answer = json as Record<string, unknown>;
  let changed = false;
  for (const field of LIFETIMES) {
    if (!(field in answer)) continue;
    const value = answer[field];
    const n = typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
    if (typeof n === 'number' && Number.isFinite(n) && n > 0) {
      if (n !== value) {
        answer[field] = n;
        changed = true;
      }
    } else {
      delete answer[field];
      changed = true;
    }
  }
  return changed ? JSON.stringify(answer) : body;
}

/**
 * The refresh token a 200 answer carries, whatever else is wrong with it (no access_token, an
 * ID token that does not validate): a provider that rotates has spent the one we presented, so
 * this one is the grant and must be kept, though nothing else in the answer is used.
 */
export function issuedRefreshToken(body: string): string | null {
  if (!body.includes('refresh_token')) return null;
  try {
    const json = JSON.parse(body) as unknown;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return null;
    const token = (json as Record<string, unknown>)['refresh_token'];
    return typeof token === 'string' && token.length > 0 && token.length <= 16_384 ? token : null;
  } catch {
    return null;
  }
}
