import type { AccountStatus } from '../../../shared/status.ts';
import { TokentrayError } from '../../../shared/errors.ts';
import type { AccountStore } from '../accounts/account-store.ts';
import type { Logger } from '../log/logger.ts';
import type { GrantResult } from '../oauth/grant-result.ts';
import type { OAuthClient } from '../oauth/oauth-client.ts';
import { ProviderError } from '../oauth/provider-error.ts';
import { applyExchange } from '../oauth/sign-in.ts';
import { backoffDelayMs, nextRefreshAt, type BackoffPolicy } from '../refresh/refresh-policy.ts';
import type { TokenRecord } from '../vault/token-record.ts';
import type { Vault } from '../vault/vault.ts';
import { mergeGrant } from './record-merge.ts';
import type { StatusBook } from './status-book.ts';
import { canRenew, validForMs } from './token-answer.ts';
import { asTokentrayError, date } from './values.ts';

export interface Runtime {
  timer: NodeJS.Timeout | null;
  /** When the next refresh attempt is due (epoch ms), or null when none is planned. */
  dueAt: number | null;
  inFlight: Promise<TokenRecord> | null;
  attempt: number;
  persistTimer: NodeJS.Timeout | null;
  persistAttempt: number;
  /**
   * Grows with every completed sign-in. A refresh remembers it when it starts; one that
   * finishes after a newer sign-in carries the older grant and is discarded — not stored,
   * not revoked (some providers revoke every grant of the user and client together), and
   * its failure does not touch the status the sign-in set.
   */
  epoch: number;
}

export interface RefreshEngineOptions {
  accounts: AccountStore;
  vault: Vault;
  logger: Logger;
  book: StatusBook;
  clientFor: (account: ReturnType<AccountStore['require']>) => Promise<OAuthClient>;
  now: () => Date;
  random: () => number;
  backoff: BackoffPolicy;
}

const MAX_TIMER_MS = 6 * 60 * 60_000;

/**
 * Refreshing and its timing, per account: one refresh in flight, the next one planned ahead
 * of expiry (or of the refresh token's end), backoff after transient failures, and the
 * reaction to each kind of failure. The broker asks; this decides when and how.
 */
export class RefreshEngine {
  readonly #accounts: AccountStore;
  readonly #vault: Vault;
  readonly #log: Logger;
  readonly #book: StatusBook;
  readonly #clientFor: RefreshEngineOptions['clientFor'];
  readonly #now: () => Date;
  readonly #random: () => number;
  readonly #backoff: BackoffPolicy;
  readonly #runtime = new Map<string, Runtime>();
  /** Accounts being removed: no refresh may start for them. */
  readonly #held = new Set<string>();
  #stopped = false;
  /** Counts for measurements: refreshes a consumer waited for, background ones, requests sent. */
  readonly stats = { onDemandRefreshes: 0, backgroundRefreshes: 0, refreshRequests: 0 };

  constructor(options: RefreshEngineOptions) {
    this.#accounts = options.accounts;
    this.#vault = options.vault;
    this.#log = options.logger;
    this.#book = options.book;
    this.#clientFor = options.clientFor;
    this.#now = options.now;
    this.#random = options.random;
    this.#backoff = options.backoff;
  }

  stop(): void {
    this.#stopped = true;
    for (const runtime of this.#runtime.values()) {
      if (runtime.timer) clearTimeout(runtime.timer);
      if (runtime.persistTimer) clearTimeout(runtime.persistTimer);
    }
  }

  /** Resolves once every refresh in flight has finished (and so written its tokens). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#runtime.values()].map((r) => r.inFlight).filter((p) => p !== null));
  }

  /** Drops an account's timers and state (it was removed). */
  /**
   * Stops new refreshes of an account and waits for the one in flight to land (a removal must
   * revoke the newest refresh token, and nothing may write the account's record after it).
   * Returns how to let refreshes run again (when the removal fails).
   */
  async hold(id: string): Promise<() => void> {
    this.#held.add(id);
    const runtime = this.runtime(id);
    if (runtime.timer) clearTimeout(runtime.timer);
    runtime.timer = null;
    await runtime.inFlight?.catch(() => undefined);
    return () => {
      this.#held.delete(id);
      void this.reevaluate(id);
    };
  }

  forget(id: string): void {
    this.#held.delete(id);
    const runtime = this.#runtime.get(id);
    if (runtime?.timer) clearTimeout(runtime.timer);
    if (runtime?.persistTimer) clearTimeout(runtime.persistTimer);
    this.#runtime.delete(id);
  }

  // ---- refresh ----------------------------------------------------------------------------

  refreshOnce(id: string): Promise<TokenRecord> {
    if (this.#held.has(id)) return Promise.reject(new TokentrayError('account_not_found', `"${id}" is being removed`));
    const runtime = this.runtime(id);
    if (!runtime.inFlight) {
      runtime.inFlight = this.#doRefresh(id).finally(() => { runtime.inFlight = null; });
    }
    return runtime.inFlight;
  }

  async #doRefresh(id: string): Promise<TokenRecord> {
    const account = this.#accounts.require(id);
    const record = await this.#vault.read(id);
    const runtime = this.runtime(id);
    const epoch = runtime.epoch;
    if (runtime.timer) clearTimeout(runtime.timer);
    await this.#book.setState(id, { status: 'refreshing' }, true);
    try {
      const client = await this.#clientFor(account);
      let result: GrantResult;
      if (record?.refreshToken) {
        result = await this.#refreshWithRetryOnTimeout(client, record.refreshToken);
      } else if (account.flow === 'client-credentials') {
        this.stats.refreshRequests++;
        result = await client.clientCredentials();
      } else if (account.flow === 'grant' && account.grantType) {
        this.stats.refreshRequests++;
        result = await client.customGrant(account.grantType, account.params);
      } else {
        throw new TokentrayError('reauth_required', `"${id}" has no refresh token; sign in again`);
      }
      if (account.exchange) result = await applyExchange(client, result);
      if (runtime.epoch !== epoch) return await this.#superseded(id);
      // REQUIREMENTS 17: the rotated refresh token is in the vault before the token is served.
      const stored = await this.store(id, record, result, { replaceRefreshToken: false });
      runtime.attempt = 0;
      const due = this.#plan(id, stored);
      // One write of accounts.json for the whole outcome (it is fsynced: not four per refresh).
      await this.#book.setState(id, { ...expiries(stored), status: 'valid', lastError: null, lastRefreshAt: this.#now().toISOString(), nextRefreshAt: due?.toISOString() ?? null }, true);
      return stored;
    } catch (error) {
      if (runtime.epoch !== epoch) return await this.#superseded(id);
      const failure = asTokentrayError(error);
      await this.#onRefreshFailure(id, failure);
      if (failure.code === 'invalid_grant') throw new TokentrayError('reauth_required', `${failure.message}`, { cause: failure });
      throw failure;
    }
  }

  /** A refresh overtaken by a sign-in: what the sign-in stored is the answer. */
  async #superseded(id: string): Promise<TokenRecord> {
    this.#log.info({ account: id }, 'a refresh finished after a newer sign-in: its result is discarded');
    const current = await this.#vault.read(id);
    if (!current) throw new TokentrayError('reauth_required', `"${id}" has no tokens; sign in again`);
    return current;
  }

  /** REQUIREMENTS 9: a request that timed out after it was sent is retried once, at once, with the same token. */
  async #refreshWithRetryOnTimeout(client: OAuthClient, refreshToken: string): Promise<GrantResult> {
    this.stats.refreshRequests++;
    try {
      return await client.refresh(refreshToken);
    } catch (error) {
      if (!(error instanceof ProviderError && error.timedOut)) throw error;
      this.#log.warn({ account: client.account.id }, 'refresh timed out after it was sent; retrying once with the same refresh token');
      this.stats.refreshRequests++;
      return client.refresh(refreshToken);
    }
  }

  async #onRefreshFailure(id: string, failure: TokentrayError): Promise<void> {
    const runtime = this.runtime(id);
    const lastError = this.#book.errorState(failure);
    if (failure.code === 'invalid_grant' || failure.code === 'reauth_required' || failure.code === 'record_corrupt') {
      this.#log.warn({ account: id, err: failure }, failure.code === 'record_corrupt' ? 'the stored tokens are damaged: sign-in required' : 'the provider ended the grant: sign-in required');
      await this.#book.setState(id, { status: 'reauth_required', lastError, nextRefreshAt: null }, true);
      return;
    }
    if (failure.code === 'misconfigured' || failure.code === 'invalid_config' || failure.code === 'insecure_url') {
      this.#log.error({ account: id, err: failure }, 'refresh refused: the account is misconfigured; the refresh token is kept');
      await this.#book.setState(id, { status: 'misconfigured', lastError, nextRefreshAt: null }, true);
      return;
    }
    // Transient: keep everything, back off, keep serving what is still valid.
    const retryAfter = failure instanceof ProviderError ? failure.retryAfterMs : null;
    const delay = backoffDelayMs(runtime.attempt, this.#backoff, retryAfter, this.#random);
    runtime.attempt++;
    const at = new Date(this.#now().getTime() + delay);
    const record = await this.#vault.read(id).catch(() => null);
    const validFor = record ? validForMs(record, this.#now()) : 0;
    const status: AccountStatus = validFor > 0 ? 'retrying' : 'expired';
    this.#log.warn({ account: id, err: failure, retryInMs: delay, attempt: runtime.attempt }, 'refresh failed; will retry');
    runtime.dueAt = at.getTime();
    await this.#book.setState(id, { status, lastError, nextRefreshAt: at.toISOString() }, true);
    this.#arm(id, validFor > 0 ? Math.min(delay, validFor + 10) : delay);
  }

  // ---- scheduling -------------------------------------------------------------------------

  /** Decides what an account needs now: a refresh, a timer, or a status change. */
  async reevaluate(id: string, resuming = false): Promise<void> {
    if (this.#stopped || this.#held.has(id)) return;
    const account = this.#accounts.get(id);
    if (!account) return;
    const status = account.state.status;
    if (status === 'reauth_required' || status === 'misconfigured' || status === 'connecting') return;
    let record: TokenRecord | null;
    try {
      record = await this.#vault.read(id);
    } catch (error) {
      const failure = asTokentrayError(error);
      if (failure.code === 'record_corrupt') {
        // Damaged tokens do not heal by waiting: the person signs in again (which overwrites them).
        this.#log.error({ account: id, err: failure }, 'the stored tokens are damaged: sign-in required');
        await this.#book.setState(id, { status: 'reauth_required', lastError: this.#book.errorState(failure), nextRefreshAt: null }, true);
        return;
      }
      await this.#book.setState(id, { lastError: this.#book.errorState(failure) }, true);
      const delay = backoffDelayMs(this.runtime(id).attempt++, this.#backoff, null, this.#random);
      this.runtime(id).dueAt = null;
      this.#arm(id, delay);
      return;
    }
    if (!record?.accessToken) return;
    const valid = validForMs(record, this.#now()) > 0;
    if (!canRenew(account, record)) {
      if (!valid) await this.#book.setState(id, { status: 'reauth_required', nextRefreshAt: null }, true);
      else {
        if (status !== 'valid') await this.#book.setState(id, { status: 'valid' }, true);
        this.runtime(id).dueAt = null;
        this.#arm(id, validForMs(record, this.#now()) + 10); // flip to reauth_required at expiry
      }
      return;
    }
    if ((status === 'retrying' || status === 'expired') && !resuming) {
      if (!valid && status === 'retrying') await this.#book.setState(id, { status: 'expired' }, true);
      const runtime = this.runtime(id);
      runtime.dueAt ??= date(account.state.nextRefreshAt)?.getTime() ?? this.#now().getTime();
      const wait = Math.max(0, runtime.dueAt - this.#now().getTime());
      this.#arm(id, valid ? Math.min(wait, validForMs(record, this.#now()) + 10) : wait);
      return;
    }
    if (resuming && (status === 'retrying' || status === 'expired')) {
      this.runtime(id).dueAt = this.#now().getTime(); // after a sleep: try again now
      this.#arm(id, 0);
      return;
    }
    // 'refreshing' with no refresh in flight is what a broker that died mid-refresh left behind.
    const stale = status === 'refreshing' && !this.runtime(id).inFlight;
    if ((status !== 'valid' && status !== 'refreshing') || stale) await this.#book.setState(id, { status: valid ? 'valid' : 'expired' }, true);
    this.#schedule(id, record);
  }

  /** Plans (and records) the next background refresh. */
  #schedule(id: string, record: TokenRecord): void {
    const due = this.#plan(id, record);
    void this.#book.setState(id, { nextRefreshAt: due?.toISOString() ?? null }, false);
  }

  /** Arms the timer for the next background refresh and returns when it is due. */
  #plan(id: string, record: TokenRecord): Date | null {
    const account = this.#accounts.get(id);
    if (!account) return null;
    const due = nextRefreshAt(
      { accessTokenExpiresAt: date(record.accessTokenExpiresAt), accessTokenIssuedAt: date(record.accessTokenIssuedAt), refreshTokenExpiresAt: date(record.refreshTokenExpiresAt), refreshTokenIssuedAt: date(record.refreshTokenIssuedAt) },
      this.#now(),
      canRenew(account, record),
      !!record.refreshToken,
      this.#random,
    );
    this.runtime(id).dueAt = due?.getTime() ?? null;
    if (due) this.#arm(id, due.getTime() - this.#now().getTime());
    return due;
  }

  #arm(id: string, delayMs: number): void {
    if (this.#stopped) return;
    const runtime = this.runtime(id);
    if (runtime.timer) clearTimeout(runtime.timer);
    const wait = Math.max(0, Math.min(delayMs, MAX_TIMER_MS));
    runtime.timer = setTimeout(() => {
      runtime.timer = null;
      void this.#onTimer(id);
    }, wait);
    runtime.timer.unref();
  }

  async #onTimer(id: string): Promise<void> {
    const account = this.#accounts.get(id);
    if (!account || this.#stopped) return;
    const status = account.state.status;
    if (status === 'reauth_required' || status === 'misconfigured' || status === 'connecting') return;
    const record = await this.#vault.read(id).catch(() => null);
    const runtime = this.runtime(id);
    if (!canRenew(account, record) || runtime.dueAt === null) {
      await this.reevaluate(id);
      return;
    }
    const now = this.#now().getTime();
    if (runtime.dueAt <= now + 5) {
      this.stats.backgroundRefreshes++;
      await this.refreshOnce(id).catch(() => undefined); // failures are handled in status and backoff
      return;
    }
    // Not due yet: this was the expiry watch of a token that is being retried.
    if (status === 'retrying' && record && validForMs(record, this.#now()) <= 0) await this.#book.setState(id, { status: 'expired' }, true);
    this.#arm(id, runtime.dueAt - now);
  }

  // ---- records and state ------------------------------------------------------------------

  /** Writes the new tokens to the vault (callers record `expiries(record)` with their status). */
  async store(id: string, previous: TokenRecord | null, result: GrantResult, options: { replaceRefreshToken: boolean }): Promise<TokenRecord> {
    const input = mergeGrant(previous, result, this.#accounts.require(id).scopes, { freshSignIn: options.replaceRefreshToken });
    const { record, persisted } = await this.#vault.write(id, input);
    if (!persisted) this.#retryPersist(id);
    return record;
  }

  /** REQUIREMENTS 20: a failed keychain write is retried with backoff; the tokens stay in memory meanwhile. */
  #retryPersist(id: string): void {
    const runtime = this.runtime(id);
    if (runtime.persistTimer || this.#stopped) return;
    const delay = backoffDelayMs(runtime.persistAttempt++, this.#backoff, null, this.#random);
    runtime.persistTimer = setTimeout(() => {
      runtime.persistTimer = null;
      void this.#vault.retryPending().then((pending) => {
        if (pending.includes(id)) this.#retryPersist(id);
        else {
          runtime.persistAttempt = 0;
          this.#book.emit(id, this.#accounts.get(id)?.state.status ?? 'valid');
        }
      });
    }, delay);
    runtime.persistTimer.unref();
  }

  runtime(id: string): Runtime {
    let runtime = this.#runtime.get(id);
    if (!runtime) {
      runtime = { timer: null, dueAt: null, inFlight: null, attempt: 0, persistTimer: null, persistAttempt: 0, epoch: 0 };
      this.#runtime.set(id, runtime);
    }
    return runtime;
  }
}

/** The token times an account's state shows (never the tokens). */
export function expiries(record: TokenRecord): { accessTokenExpiresAt: string | null; refreshTokenExpiresAt: string | null } {
  return { accessTokenExpiresAt: record.accessTokenExpiresAt, refreshTokenExpiresAt: record.refreshTokenExpiresAt };
}
