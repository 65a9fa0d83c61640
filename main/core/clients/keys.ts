import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A bearer key: 256 random bits, URL-safe. */
export function newKey(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Compares digests in constant time (equal lengths by construction). */
export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
