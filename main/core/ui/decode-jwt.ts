import { decodeJwt, decodeProtectedHeader } from 'jose';

/** A JWT's header and claims, decoded without verification (to show them), or null for an opaque token. */
export function decodeForDisplay(token: string | null): { header: Record<string, unknown>; claims: Record<string, unknown> } | null {
  if (!token) return null;
  try {
    return { header: { ...decodeProtectedHeader(token) }, claims: { ...decodeJwt(token) } };
  } catch {
    return null;
  }
}
