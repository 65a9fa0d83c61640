import type { AccountDefinition } from '../../../shared/account.ts';
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
import type { AccountMachine } from './account-machine.ts';
import { KeychainRetry } from './keychain-retry.ts';
import { expiries } from './record-merge.ts';
import type { StatusBook } from './status-book.ts';
import { canRenew, validForMs } from './token-answer.ts';
import { asTokentrayError, date } from './values.ts';

export interface RefreshEngineOptions {
  accounts: AccountStore;
  vault: Vault;
  logger: Logger;
  book: StatusBook;
  machineFor: (id: string) => AccountMachine;
  machines: () => Iterable<AccountMachine>;
  clientFor: (account: AccountDefinition) => Promise<OAuthClient>;
  now: () => Date;
  random: () => number;
  backoff: BackoffPolicy;
}

/**
 * Refreshing and its timing, per account: the refresh itself, the next one planned ahead of
 * expiry (or of the refresh token's end), backoff after transient failures, and the reaction
 * to each kind of failure. Every write goes through the account's machine.
 */
export class RefreshEngine {
  readonly #accounts: AccountStore;
  readonly #vault: Vault;
  readonly #log: Logger;
  readonly #book: StatusBook;
  readonly #machine: (id: string) => AccountMachine;
  readonly #machines: () => Iterable<AccountMachine>;
  readonly #clientFor: RefreshEngineOptions['clientFor'];
  readonly #now: () => Date;
  readonly #random: () => number;
  readonly #backoff: BackoffPolicy;
  #stopped = false;
  /** Records the keychain refused to write, and accounts it could not read: one loop for all (REQUIREMENTS 20). */
  readonly keychainRetry: KeychainRetry;
  /** Counts for measurements: refreshes a consumer waited for, background ones, requests sent. */
  readonly stats = { onDemandRefreshes: 0, backgroundRefreshes: 0, refreshRequests: 0 };

  constructor(options: RefreshEngineOptions) {
    this.#accounts = options.accounts;
    this.#vault = options.vault;
    this.#log = options.logger;
    this.#book = options.book;
    this.#machine = options.machineFor;
    this.#machines = options.machines;
    this.#clientFor = options.clientFor;
    this.#now = options.now;
    this.#random = options.random;
    this.#backoff = options.backoff;
    this.keychainRetry = new KeychainRetry({
      vault: this.#vault,
      logger: this.#log,
      backoff: this.#backoff,
      random: this.#random,
      reread: (id) => this.reevaluate(id),
      // persisted again: the views say so
      persisted: (id) => this.#book.emit(id, this.#accounts.get(id)?.state.status ?? 'valid'),
    });
  }

  stop(): void {
    this.#stopped = true;
    this.keychainRetry.stop();
    for (const machine of this.#machines()) machine.dispose();
  }

  /** Resolves once every refresh in flight has finished (and so written its tokens). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#machines()].map((m) => m.refreshInFlight).filter((p) => p !== null));
    await Promise.allSettled([...this.#machines()].map((m) => m.settled()));
  }

  // ---- refresh ----------------------------------------------------------------------------

  refreshOnce(id: string): Promise<TokenRecord> {
    return this.#machine(id).refresh((epoch) => this.#doRefresh(id, epoch));
  }

  async #doRefresh(id: string, epoch: number): Promise<TokenRecord> {
    const machine = this.#machine(id);
    const account = this.#accounts.require(id);
    const record = await this.#vault.read(id);
    await machine.apply('refresh_started', record);
    /** A refresh token the provider issued in this refresh, once it did (see #keepIssued). */
    let issued: string | null = null;
    try {
      const client = await this.#clientFor(account);
      let result: GrantResult;
      if (record?.refreshToken) {
        result = await this.#refreshWithRetryOnce(client, record.refreshToken);
        issued = result.refreshToken;
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
      // REQUIREMENTS 17: the rotated refresh token is in the vault before the token is served;
      // one status change for the whole outcome, not four per refresh.
      const stored = await machine.refreshed(epoch, result, account.scopes, (r) => {
        const due = this.#plan(id, r);
        return { ...expiries(r), lastError: null, lastRefreshAt: this.#now().toISOString(), nextRefreshAt: due?.toISOString() ?? null };
      });
      return stored ?? (await this.#superseded(id));
    } catch (error) {
      if (machine.epoch !== epoch) return await this.#superseded(id);
      const failure = asTokentrayError(error);
      issued ??= failure instanceof ProviderError ? failure.issuedRefreshToken : null;
      if (record?.refreshToken && issued && issued !== record.refreshToken) await this.#keepIssued(id, epoch, record.refreshToken, issued);
      await this.#onRefreshFailure(id, failure);
      if (failure.code === 'invalid_grant') throw new TokentrayError('reauth_required', `${failure.message}`, { cause: failure });
      throw failure;
    }
  }

  /**
   * The refresh failed after the provider issued a new refresh token (an answer with no usable
   * access token, or an exchange step that failed afterwards). At a provider that rotates, the
   * presented one is spent: presenting it again revokes the grant. So the new one is kept, and
   * the retry presents it.
   */
  async #keepIssued(id: string, epoch: number, presented: string, issued: string): Promise<void> {
    try {
      if (await this.#machine(id).keepIssuedRefreshToken(epoch, presented, issued)) {
        this.#log.warn({ account: id }, 'the refresh failed but the provider issued a new refresh token: it is kept, and the next attempt presents it');
      }
    } catch (error) {
      this.#log.error({ account: id, err: error }, 'could not keep the refresh token the provider issued with an unusable answer');
    }
  }

  /** A refresh overtaken by a sign-in: what the sign-in stored is the answer. */
  async #superseded(id: string): Promise<TokenRecord> {
    this.#log.info({ account: id }, 'a refresh finished after a newer sign-in: its result is discarded');
    const current = await this.#vault.read(id);
    if (!current) throw new TokentrayError('reauth_required', `"${id}" has no tokens; sign in again`);
    return current;
  }

  /**
   * REQUIREMENTS 9: a request that was sent and got no answer (a timeout, or the connection
   * cut after the provider may have issued tokens) is retried once, at once, with the same
   * refresh token — it may land in the provider's reuse grace window.
   */
  async #refreshWithRetryOnce(client: OAuthClient, refreshToken: string): Promise<GrantResult> {
    this.stats.refreshRequests++;
    try {
      return await client.refresh(refreshToken);
    } catch (error) {
      if (!(error instanceof ProviderError && error.unanswered)) throw error;
      this.#log.warn({ account: client.account.id, err: error }, 'the refresh was sent and not answered; retrying once with the same refresh token');
      this.stats.refreshRequests++;
      return client.refresh(refreshToken);
    }
  }

  async #onRefreshFailure(id: string, failure: TokentrayError): Promise<void> {
    const machine = this.#machine(id);
    const lastError = this.#book.errorState(failure);
    if (failure.code === 'invalid_grant' || failure.code === 'reauth_required' || failure.code === 'record_corrupt') {
      this.#log.warn({ account: id, err: failure }, failure.code === 'record_corrupt' ? 'the stored tokens are damaged: sign-in required' : 'the provider ended the grant: sign-in required');
      await machine.apply(failure.code === 'record_corrupt' ? 'record_damaged' : 'grant_ended', null, { lastError, nextRefreshAt: null });
      return;
    }
    if (failure.code === 'misconfigured' || failure.code === 'invalid_config' || failure.code === 'insecure_url') {
      this.#log.error({ account: id, err: failure }, 'refresh refused: the account is misconfigured; the refresh token is kept');
      await machine.apply('refused', null, { lastError, nextRefreshAt: null });
      return;
    }
    // Transient: keep everything, back off, keep serving what is still valid.
    const retryAfter = failure instanceof ProviderError ? failure.retryAfterMs : null;
    const delay = backoffDelayMs(machine.attempt, this.#backoff, retryAfter, this.#random);
    machine.attempt++;
    const at = new Date(this.#now().getTime() + delay);
    const record = await this.#vault.read(id).catch(() => null);
    const validFor = record ? validForMs(record, this.#now()) : 0;
    this.#log.warn({ account: id, err: failure, retryInMs: delay, attempt: machine.attempt }, 'refresh failed; will retry');
    machine.dueAt = at.getTime();
    await machine.apply('refresh_failed', record, { lastError, nextRefreshAt: at.toISOString() });
    this.#arm(id, validFor > 0 ? Math.min(delay, validFor + 10) : delay);
  }

  // ---- scheduling -------------------------------------------------------------------------

  /** Decides what an account needs now: a refresh, a timer, or a status change. */
  async reevaluate(id: string, resuming = false): Promise<void> {
    if (this.#stopped) return;
    const account = this.#accounts.get(id);
    if (!account) return;
    const machine = this.#machine(id);
    if (machine.removing) return;
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
        await machine.apply('record_damaged', null, { lastError: this.#book.errorState(failure), nextRefreshAt: null });
        return;
      }
      // The same failure again (the keychain retry loop asks one waiting account per round): no
      // new status to write. Rewriting it each round rewrote accounts.json (7 MB at 10,000
      // accounts) every few seconds in an idle broker.
      const lastError = this.#book.errorState(failure);
      const same = account.state.status === 'expired' && account.state.lastError?.code === lastError?.code && account.state.lastError?.message === lastError?.message;
      if (!same) await machine.apply('keychain_unreadable', null, { lastError });
      // No timer of its own: the keychain's retry loop checks it again once the keychain answers.
      machine.dueAt = null;
      machine.clearTimer();
      this.keychainRetry.unreadable(id);
      return;
    }
    if (!record) {
      // The keychain answers and holds nothing for an account that had tokens: they lived in
      // memory only (a broker with no keychain, restarted) or were removed. It needs a sign-in,
      // not a "valid" or "expired" that no token request can live up to.
      const missing = new TokentrayError('record_missing', `no tokens are stored for "${id}" (they were kept in memory only, with no keychain, or removed from the keychain): sign in again ("tokentray login ${id}")`);
      await machine.apply('record_missing', null, { lastError: this.#book.errorState(missing), nextRefreshAt: null });
      return;
    }
    if (!record.accessToken) return;
    const validFor = validForMs(record, this.#now());
    if (!canRenew(account, record)) {
      if (validFor <= 0) await machine.apply('cannot_renew', record, { nextRefreshAt: null });
      else {
        await machine.apply('checked', record);
        machine.dueAt = null;
        this.#arm(id, validFor + 10); // flip to reauth_required at expiry
      }
      return;
    }
    // Back from a keychain that did not answer: the tokens say what the status is, not the backoff.
    const keychainBack = account.state.lastError?.code === 'keychain_unavailable' || account.state.lastError?.code === 'keychain_error';
    if ((status === 'retrying' || status === 'expired') && !keychainBack) {
      if (resuming) {
        machine.dueAt = this.#now().getTime(); // after a sleep: try again now
        this.#arm(id, 0);
        return;
      }
      if (validFor <= 0) await machine.apply('token_expired', record);
      machine.dueAt ??= date(account.state.nextRefreshAt)?.getTime() ?? this.#now().getTime();
      const wait = Math.max(0, machine.dueAt - this.#now().getTime());
      this.#arm(id, validFor > 0 ? Math.min(wait, validFor + 10) : wait);
      return;
    }
    // 'refreshing' with no refresh in flight is what a broker that died mid-refresh left behind.
    if (status !== 'refreshing' || !machine.refreshInFlight) await machine.apply('checked', record, keychainBack ? { lastError: null } : {});
    if (keychainBack) machine.attempt = 0;
    const due = this.#plan(id, record);
    void machine.note({ nextRefreshAt: due?.toISOString() ?? null }, false);
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
    this.#machine(id).dueAt = due?.getTime() ?? null;
    if (due) this.#arm(id, due.getTime() - this.#now().getTime());
    return due;
  }

  #arm(id: string, delayMs: number): void {
    if (this.#stopped) return;
    this.#machine(id).arm(delayMs, () => void this.#onTimer(id));
  }

  async #onTimer(id: string): Promise<void> {
    const account = this.#accounts.get(id);
    if (!account || this.#stopped) return;
    const status = account.state.status;
    if (status === 'reauth_required' || status === 'misconfigured' || status === 'connecting') return;
    const record = await this.#vault.read(id).catch(() => null);
    const machine = this.#machine(id);
    if (!canRenew(account, record) || machine.dueAt === null) {
      await this.reevaluate(id);
      return;
    }
    const now = this.#now().getTime();
    if (machine.dueAt <= now + 5) {
      const landing = machine.refreshInFlight;
      if (landing) {
        // The refresh that planned this timer is still landing (a slow keychain or disk): joining
        // it would plan nothing more. Wait for it, then plan the next one from what it stored.
        await landing.catch(() => undefined);
        if (!machine.hasTimer) await this.reevaluate(id);
        return;
      }
      this.stats.backgroundRefreshes++;
      await this.refreshOnce(id).catch(() => undefined); // failures are handled in status and backoff
      return;
    }
    // Not due yet: this was the expiry watch of a token that is being retried.
    if (status === 'retrying' && record && validForMs(record, this.#now()) <= 0) await machine.apply('token_expired', record);
    this.#arm(id, machine.dueAt - now);
  }
}
