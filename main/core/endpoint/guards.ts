import type { IncomingMessage } from 'node:http';
import { TokentrayError } from '../../../shared/errors.ts';

/** Query parameters that smell of a credential: keys go in the Authorization header only. */
const KEY_PARAMS = /^(key|api_?key|token|access_?token|auth|authorization|bearer|owner_?key)$/i;

/**
 * DNS-rebinding defence (REQUIREMENTS 13): over TCP the Host must be exactly one of our own
 * loopback names with our port. The Unix socket has no port, so it has no Host check.
 */
/** The Host values our port accepts, built once per port (not per request). */
// (Two brokers in one process — tests — alternate ports: correct either way, just rebuilt.)
const allowedHosts = {
  port: -1,
  names: [] as string[],
  set(port: number): void {
    this.port = port;
    this.names = [`127.0.0.1:${port}`, `[::1]:${port}`, `localhost:${port}`];
  },
};

export function checkHost(req: IncomingMessage, port: number | null): void {
  if (port === null) return;
  const host = req.headers.host;
  if (host === undefined || host === '') throw new TokentrayError('bad_request', 'a Host header is required');
  if (port !== allowedHosts.port) allowedHosts.set(port);
  if (!allowedHosts.names.includes(host) && !allowedHosts.names.includes(host.toLowerCase())) throw new TokentrayError('forbidden_host', `requests for host "${host.slice(0, 100)}" are refused`);
}

/** Browsers send Origin / Sec-Fetch-Site: a web page must never reach the API (REQUIREMENTS 14). */
export function checkOrigin(req: IncomingMessage): void {
  if (req.headers.origin !== undefined) throw new TokentrayError('forbidden_origin', 'requests from web pages are refused');
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'none' && site !== 'same-origin') throw new TokentrayError('forbidden_origin', 'cross-site requests are refused');
}

/** What the routes read of a request's URL. */
export type RequestUrl = Pick<URL, 'pathname' | 'searchParams'>;

/** Plain segments (none starting with a dot), no query, no escapes: what `new URL` would leave as it is. */
const PLAIN_PATH = /^(?:\/[a-z0-9_-][a-z0-9._-]*)+$/i;
const NO_QUERY = new URLSearchParams();

/**
 * The request's path and query. A plain path (the token route's, always) is taken as it is —
 * parsing a URL was a measurable share of the hot path — and anything else (dots, escapes,
 * a query) goes through `new URL`, which normalises it.
 */
export function requestUrl(raw: string | undefined): RequestUrl {
  if (raw !== undefined && PLAIN_PATH.test(raw)) return { pathname: raw, searchParams: NO_QUERY };
  return new URL(raw ?? '/', 'http://127.0.0.1');
}

export function checkQuery(url: RequestUrl): void {
  for (const name of url.searchParams.keys()) {
    if (KEY_PARAMS.test(name)) throw new TokentrayError('bad_request', 'keys are never accepted in the URL: send "Authorization: Bearer <key>"');
  }
}

/** The bearer key, or null. */
export function bearerKey(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const match = /^Bearer ([A-Za-z0-9._~+/=-]{16,512})$/.exec(header);
  return match ? match[1]! : null;
}
