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
