import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';

/** What one provider call learned of its last HTTP request and answer. */
export interface ResponseProbe {
  status: number | null;
  retryAfter: string | null;
  /** The request reached the wire (its headers were written to a connected socket). */
  sent: boolean;
  /** The fetch this call's requests go through instead of the client's own (a refresh sent by the keychain process). */
  via?: typeof fetch | null;
  /** The refresh token a 200 answer carried (token-body.ts issuedRefreshToken), usable or not. */
  issuedRefreshToken?: string | null;
}

/**
 * Whether a request was sent is what tells "the provider may have acted on it" (a timeout or
 * a cut connection after sending: retry once with the same refresh token, REQUIREMENTS 9) from
 * "it never got there" (a connect timeout, a refused connection). fetch does not say; Node's
 * HTTP client (undici) publishes both moments on diagnostics channels, and the request is
 * created inside the call's async context, which is how it is tied to the call's probe.
 */
export const probes = new AsyncLocalStorage<ResponseProbe>();

const probeOf = new WeakMap<object, ResponseProbe>();
subscribe('undici:request:create', (message) => {
  const probe = probes.getStore();
  const request = (message as { request?: object }).request;
  if (probe && request) probeOf.set(request, probe);
});
subscribe('undici:client:sendHeaders', (message) => {
  const request = (message as { request?: object }).request;
  const probe = request ? probeOf.get(request) : undefined;
  if (probe) probe.sent = true;
});

export function newProbe(): ResponseProbe {
  return { status: null, retryAfter: null, sent: false };
}
