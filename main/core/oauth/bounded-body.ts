/** The most a provider answer may hold, after decompression: token answers are a few KB. */
export const MAX_PROVIDER_BODY_BYTES = 1_048_576;

/** A provider answer over the size limit: it is cut off unread, never buffered whole. */
export class BodyTooLargeError extends Error {
  constructor(limit: number) {
    super(`the provider's answer is larger than ${Math.round(limit / 1024)} KB (after decompression)`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a response body as text, at most `maxBytes` of it after decompression (fetch inflates
 * gzip, deflate and brotli as it reads): a 10 MB answer or a gzip bomb costs at most `maxBytes`
 * of memory, and its connection is dropped. A body that drips is stopped by `signal`.
 */
export async function readBounded(response: Response, maxBytes: number, signal?: AbortSignal): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (!response.headers.get('content-encoding') && Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new BodyTooLargeError(maxBytes);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const onAbort = (): void => { void reader.cancel(signal?.reason).catch(() => undefined); };
  signal?.addEventListener('abort', onAbort, { once: true });
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new DOMException('the answer took too long', 'TimeoutError');
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new BodyTooLargeError(maxBytes);
      }
      parts.push(value);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new DOMException('the answer took too long', 'TimeoutError');
  return new TextDecoder().decode(Buffer.concat(parts));
}

/** The same response with its body read (bounded) and held, for a parser that reads it again. */
export async function boundedResponse(response: Response, maxBytes: number, signal?: AbortSignal): Promise<Response> {
  const body = await readBounded(response, maxBytes, signal);
  return rebuiltResponse(response.status, response.headers, body);
}

/** A Response from its parts (a status that carries no body gets none). */
export function rebuiltResponse(status: number, headers: Headers | Array<[string, string]>, body: string): Response {
  const bodiless = status === 204 || status === 205 || status === 304 || status < 200;
  const copy = new Headers(headers);
  // The body is held decoded now: its encoding and length headers no longer describe it.
  copy.delete('content-encoding');
  copy.delete('content-length');
  return new Response(bodiless ? null : body, { status: status < 200 ? 502 : status, headers: copy });
}
