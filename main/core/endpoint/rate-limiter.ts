import { TokentrayError } from '../../../shared/errors.ts';

/** At most `max` calls per `windowMs` (a sliding window); past that the call throws `bad_request`. */
export function rateLimiter(max: number, windowMs: number, message: string, now: () => number = Date.now): () => void {
  const calls: number[] = [];
  return () => {
    const t = now();
    while (calls.length > 0 && calls[0]! <= t - windowMs) calls.shift();
    if (calls.length >= max) throw new TokentrayError('bad_request', message);
    calls.push(t);
  };
}
