import { createServer, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { TokentrayError } from '../../../shared/errors.ts';

export interface LoopbackRedirect {
  /** `http://127.0.0.1:<port>/callback`: the IP literal, never `localhost` (RFC 8252 §7.3, §8.3). */
  redirectUri: string;
  /** Resolves with the one callback whose `state` matched; rejects on denial or timeout. */
  callback: Promise<URL>;
  close(): void;
}

function page(res: ServerResponse, status: number, title: string, text: string): void {
  const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'", 'referrer-policy': 'no-referrer' });
  res.end(`<!doctype html><meta charset="utf-8"><title>Tokentray: ${escape(title)}</title><h1>${escape(title)}</h1><p>${escape(text)}</p>`);
}

function sameState(a: string | null, b: string): boolean {
  if (a === null) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A one-shot redirect listener on 127.0.0.1 and an ephemeral port. It accepts exactly one
 * callback carrying the expected `state`, then closes; a missing or wrong `state` gets an
 * error page and changes nothing; after the first valid callback nothing more is accepted.
 */
export async function startLoopbackRedirect(expectedState: string, timeoutMs: number): Promise<LoopbackRedirect> {
  let settle!: { resolve: (url: URL) => void; reject: (error: Error) => void };
  const callback = new Promise<URL>((resolve, reject) => { settle = { resolve, reject }; });
  callback.catch(() => undefined);
  let done = false;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', redirectUri);
    if (req.method !== 'GET' || url.pathname !== '/callback') {
      page(res, 404, 'Not found', 'This address only receives a sign-in callback.');
      return;
    }
    if (done) {
      page(res, 400, 'Sign-in already finished', 'This sign-in link was used already. Nothing was changed.');
      return;
    }
    if (!sameState(url.searchParams.get('state'), expectedState)) {
      page(res, 400, 'Sign-in not recognised', 'This callback does not belong to the sign-in Tokentray started. Nothing was changed.');
      return;
    }
    done = true;
    const error = url.searchParams.get('error');
    if (error) {
      const description = url.searchParams.get('error_description');
      page(res, 400, 'Sign-in failed', `The provider said: ${error}${description ? ` — ${description}` : ''}. You can close this window.`);
      settle.reject(new TokentrayError('sign_in_failed', `sign-in failed at the provider: ${error}${description ? ` (${description})` : ''}`));
    } else {
      page(res, 200, 'Signed in', 'Tokentray has what it needs. You can close this window.');
      settle.resolve(url);
    }
    close();
  });
  const timer = setTimeout(() => {
    if (!done) {
      done = true;
      settle.reject(new TokentrayError('sign_in_failed', `no sign-in callback within ${Math.round(timeoutMs / 1000)} s; the sign-in timed out`));
      close();
    }
  }, timeoutMs);
  timer.unref();
  function close(): void {
    clearTimeout(timer);
    server.close();
    setTimeout(() => server.closeAllConnections(), 100).unref();
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const redirectUri = `http://127.0.0.1:${(server.address() as { port: number }).port}/callback`;
  return {
    redirectUri,
    callback,
    close: () => {
      if (!done) {
        done = true;
        settle.reject(new TokentrayError('sign_in_failed', 'the sign-in was cancelled'));
      }
      close();
    },
  };
}
