import type { Logger } from '../log/logger.ts';
import { backoffDelayMs, keychainBackoff, type BackoffPolicy } from '../refresh/refresh-policy.ts';
import type { Vault } from '../vault/vault.ts';

/**
 * While the keychain is known to be away and the bus will announce its return, a round runs
 * this often anyway (a safety net, not the way back: the announcement starts one at once).
 */
export const WATCHED_RECHECK_MS = 60_000;

/** Accounts re-read at once when the keychain answers again (the keychain process runs four calls at once). */
const REREAD_LANES = 8;

export interface KeychainRetryOptions {
  vault: Vault;
  logger: Logger;
  backoff: BackoffPolicy;
  random: () => number;
  /** Checks the account again (reads its record; on failure it comes back through `unreadable`). */
  reread: (id: string) => Promise<void>;
  /** The account's record is in the keychain again. */
  persisted: (id: string) => void;
}

/**
 * REQUIREMENTS 20–21: one retry loop for the whole vault, not a timer per account. Records the
 * keychain refused to write are written again, and accounts whose record it could not read are
 * checked again, in rounds that cost one keychain call while it stays away, however many
 * accounts wait. Rounds back off to at most 4 s; when the keychain is known to be gone from a bus
 * we watch, its return starts a round at once and the timer is only a safety net, so a broker in
 * memory-only mode does nothing while it waits.
 */
export class KeychainRetry {
  readonly #options: KeychainRetryOptions;
  readonly #unreadable = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #attempt = 0;
  #running: Promise<void> | null = null;
  #stopped = false;
  readonly #unsubscribe: () => void;

  constructor(options: KeychainRetryOptions) {
    this.#options = options;
    this.#unsubscribe = options.vault.onKeychainReturn(() => {
      options.logger.info('the keychain is back on the session bus: writing what waited for it');
      this.now();
    });
  }

  /** A write left the account's record in memory only. */
  notPersisted(_id: string): void {
    this.#schedule();
  }

  /** The account's record could not be read: it is checked again when the keychain answers. */
  unreadable(id: string): void {
    this.#unreadable.add(id);
    this.#schedule();
  }

  /** Whether anything waits for the keychain (tests, diagnostics). */
  get waiting(): { writes: number; reads: number } {
    return { writes: this.#options.vault.pendingCount, reads: this.#unreadable.size };
  }

  /** The keychain may be back: a round now, and the backoff starts over. */
  now(): void {
    if (this.#stopped) return;
    this.#attempt = 0;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    void this.#round();
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    if (this.#timer || this.#stopped || this.#running) return; // a running round schedules the next itself
    const vault = this.#options.vault;
    const delay = vault.keychainWatched ? WATCHED_RECHECK_MS : backoffDelayMs(this.#attempt++, keychainBackoff(this.#options.backoff), null, this.#options.random);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#round();
    }, delay);
    this.#timer.unref();
  }

  #round(): Promise<void> {
    this.#running ??= this.#writeThenRead().finally(() => {
      this.#running = null;
      if (this.#options.vault.pendingCount > 0 || this.#unreadable.size > 0) this.#schedule();
      else this.#attempt = 0;
    });
    return this.#running;
  }

  async #writeThenRead(): Promise<void> {
    const { vault, reread, persisted } = this.#options;
    const left = await vault.retryPending(persisted).catch(() => 1);
    if (left > 0 || this.#unreadable.size === 0 || this.#stopped) return;
    // One account first: while the keychain still cannot read it, it cannot read the others.
    const [first] = this.#unreadable;
    this.#unreadable.delete(first!);
    await reread(first!).catch(() => undefined);
    if (this.#unreadable.has(first!)) return;
    const batch = [...this.#unreadable];
    this.#unreadable.clear();
    let next = 0;
    const lane = async () => {
      while (next < batch.length && !this.#stopped) await reread(batch[next++]!).catch(() => undefined);
    };
    await Promise.all(Array.from({ length: Math.min(REREAD_LANES, batch.length) }, lane));
  }
}
