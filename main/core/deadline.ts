import { TokentrayError, type ErrorCode } from '../../shared/errors.ts';

/**
 * Runs `work` with an AbortSignal and rejects with `code` once `ms` have passed, whether or
 * not the work honours the signal: a keychain or provider that never answers must not hang us.
 */
export async function withDeadline<T>(
  ms: number,
  code: ErrorCode,
  message: string,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new TokentrayError(code, message, { retryable: true }));
    }, ms);
    timer.unref();
  });
  try {
    return await Promise.race([work(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * AbortSignal.timeout(ms), but its timer ends with the work: `done()` clears it. A timer left
 * behind by each request (AbortSignal.timeout cannot be cleared) fires long after the request
 * ended: after 10,000 refreshes, 10,000 timers went off 20 s later in an idle broker.
 */
export function timeoutSignal(ms: number, also?: AbortSignal | null): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
  timer.unref();
  const signal = also ? AbortSignal.any([also, controller.signal]) : controller.signal;
  return { signal, done: () => clearTimeout(timer) };
}
