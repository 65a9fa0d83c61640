import { TokentrayError } from '../../../shared/errors.ts';
import { systemMs } from '../clock.ts';

/** Refused for now: answered 429 with `Retry-After` (seconds until a call leaves the window). */
export class RateLimitError extends TokentrayError {
  readonly retryAfterMs: number;

  constructor(message: string, retryAfterMs: number) {
    super('rate_limited', message, { retryable: true });
    this.retryAfterMs = retryAfterMs;
  }
}

/** At most `max` calls per `windowMs` (a sliding window); past that the call throws a RateLimitError. */
export function rateLimiter(max: number, windowMs: number, message: string, now: () => number = systemMs): () => void {
  const calls: number[] = [];
  return () => {
    const t = now();
    while (calls.length > 0 && calls[0]! <= t - windowMs) calls.shift();
    if (calls.length >= max) throw new RateLimitError(message, calls[0]! + windowMs - t);
    calls.push(t);
  };
}
