import { TokentrayError } from '../../../shared/errors.ts';
import { urlProblem } from '../../../shared/url-rules.ts';

export { isLoopbackHost } from '../../../shared/url-rules.ts';

/** https everywhere; plain http only for loopback hosts (RFC 8252 §8.3). */
export function assertSafeUrl(value: string, what: string): URL {
  const problem = urlProblem(value, what);
  if (problem) throw new TokentrayError('insecure_url', problem);
  return new URL(value);
}
