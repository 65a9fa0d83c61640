import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { TokentrayError } from '../../../shared/errors.ts';

export const MAX_BODY_BYTES = 64 * 1024;

/** Reads a small JSON body strictly: size-limited, `application/json`, schema-checked. */
export async function readJson<S extends z.ZodType>(req: IncomingMessage, schema: S, options: { optional?: boolean } = {}): Promise<z.infer<S>> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) throw new TokentrayError('payload_too_large', `bodies are limited to ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      req.resume();
      throw new TokentrayError('payload_too_large', `bodies are limited to ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.length === 0 && options.optional) return schema.parse({});
  if (!/^application\/json(\s*;|$)/i.test(String(req.headers['content-type'] ?? ''))) {
    throw new TokentrayError('bad_request', 'the body must be application/json');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new TokentrayError('bad_request', 'the body is not valid JSON');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new TokentrayError('bad_request', `invalid body: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'unexpected shape'}`);
  }
  return parsed.data;
}
