/** Where Tokentray may send a person or a secret: https, or plain http to loopback only (RFC 8252 §8.3). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', '::1', 'localhost']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase());
}

/** Why `value` is not an acceptable provider URL, in plain words; null when it is. */
export function urlProblem(value: string, what: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${what} "${value.slice(0, 200)}" is not a URL`;
  }
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return null;
  return `${what} must use https (plain http is accepted only for 127.0.0.1, ::1 and localhost): ${url.origin}`;
}
