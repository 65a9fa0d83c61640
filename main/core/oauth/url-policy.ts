import { TokentrayError } from '../../../shared/errors.ts';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', '::1', 'localhost']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase());
}

/** https everywhere; plain http only for loopback hosts (RFC 8252 §8.3). */
export function assertSafeUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TokentrayError('insecure_url', `${what} "${value}" is not a URL`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  throw new TokentrayError('insecure_url', `${what} must use https (plain http is accepted only for 127.0.0.1, ::1 and localhost): ${url.origin}`);
}
