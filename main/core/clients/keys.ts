import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A bearer key: 256 random bits, URL-safe. */
export function newKey(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** SHA-256 of a key (one-shot: no Hash object per request on the token route). */
export function hashKey(key: string): Buffer {
  return hash('sha256', key, 'buffer');
}

/** Compares digests in constant time (equal lengths by construction). */
export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
