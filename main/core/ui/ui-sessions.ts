import { createHash, randomBytes } from 'node:crypto';
import { systemMs } from '../clock.ts';

export const LOGIN_TOKEN_TTL_MS = 60_000;
export const SESSION_IDLE_MS = 12 * 60 * 60_000;

const digest = (value: string): string => createHash('sha256').update(value).digest('hex');

/**
 * Web-mode sign-in to the window: `tokentray open` gets a one-time login token (60 s, single
 * use), the browser trades it for a session (12 h without use). Only hashes are kept, and only
 * in memory: stopping the broker ends every session.
 */
export class UiSessions {
  readonly #now: () => number;
  readonly #loginTokens = new Map<string, number>();
  readonly #sessions = new Map<string, number>();

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? systemMs;
  }

  issueLoginToken(): string {
    this.#sweep();
    const token = randomBytes(32).toString('base64url');
    this.#loginTokens.set(digest(token), this.#now() + LOGIN_TOKEN_TTL_MS);
    return token;
  }

  /** A new session for a fresh, unused login token; null for a used, expired or unknown one. */
  redeem(loginToken: string): string | null {
    const key = digest(loginToken);
    const expires = this.#loginTokens.get(key);
    this.#loginTokens.delete(key); // single use, whatever happens next
    if (expires === undefined || expires <= this.#now()) return null;
    const session = randomBytes(32).toString('base64url');
    this.#sessions.set(digest(session), this.#now());
    return session;
  }

  /** Whether the session is live; a live session's idle clock starts again. */
  touch(session: string): boolean {
    const key = digest(session);
    const lastUse = this.#sessions.get(key);
    if (lastUse === undefined) return false;
    if (this.#now() - lastUse >= SESSION_IDLE_MS) {
      this.#sessions.delete(key);
      return false;
    }
    this.#sessions.set(key, this.#now());
    return true;
  }

  end(session: string): void {
    this.#sessions.delete(digest(session));
  }

  #sweep(): void {
    const now = this.#now();
    for (const [key, expires] of this.#loginTokens) if (expires <= now) this.#loginTokens.delete(key);
    for (const [key, lastUse] of this.#sessions) if (now - lastUse >= SESSION_IDLE_MS) this.#sessions.delete(key);
  }
}
