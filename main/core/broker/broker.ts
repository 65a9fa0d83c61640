import type { AccountDefinition, AccountDefinitionInput, AccountState } from '../../../shared/account.ts';
import type { AccountView } from '../../../shared/account-view.ts';
import { TokentrayError } from '../../../shared/errors.ts';
import type { AccountStatus } from '../../../shared/status.ts';
import type { AccountStore } from '../accounts/account-store.ts';
import type { Logger } from '../log/logger.ts';
import type { GrantResult } from '../oauth/grant-result.ts';
import { OAuthClient } from '../oauth/oauth-client.ts';
import { ProviderError } from '../oauth/provider-error.ts';
import { applyExchange, signInFlow, type BrowserOpener, type SignInEvent } from '../oauth/sign-in.ts';
import { backoffDelayMs, DEFAULT_BACKOFF, effectiveMinTtlMs, lifetimeMs, nextRefreshAt, type BackoffPolicy } from '../refresh/refresh-policy.ts';
import type { TokenRecord } from '../vault/token-record.ts';
import type { Vault } from '../vault/vault.ts';
import { accountView } from './account-view.ts';
import { mergeGrant, recordInput } from './record-merge.ts';
import { canRenew, tokenAnswer, validForMs, type TokenAnswer } from './token-answer.ts';
import { revokeWithRetry } from '../oauth/revocation.ts';
import { watchForSleep } from '../refresh/sleep-watch.ts';

export type { TokenAnswer } from './token-answer.ts';

export interface BrokerOptions {
  accounts: AccountStore;
  vault: Vault;
  logger: Logger;
  browser?: BrowserOpener;
  now?: () => Date;
  random?: () => number;
  /** Each HTTP request to a provider is abandoned after this long (default 20 s). */
  requestTimeoutMs?: number;
  backoff?: BackoffPolicy;
  /** Headless: a timer gap over 30 s (a sleep) triggers `resume()`. */
  watchSleep?: boolean;
  /** How long a token request waits for a refresh before answering with what it has (default 8 s). */
  maxWaitMs?: number;
}

export interface StatusChange {
  account: AccountView;
  previous: AccountStatus;
}

export interface NewAccountSecrets {
  clientSecret?: string | null;
}

interface Runtime {
  timer: NodeJS.Timeout | null;
  /** When the next refresh attempt is due (epoch ms), or null when none is planned. */
  dueAt: number | null;
  inFlight: Promise<TokenRecord> | null;
  attempt: number;
  persistTimer: NodeJS.Timeout | null;
  persistAttempt: number;
}

const MAX_TIMER_MS = 6 * 60 * 60_000;

/**
 * The heart of Tokentray: one refresh in flight per account, background refresh ahead of
 * expiry, keep-alive for refresh tokens, backoff on transient failures, and one status
 * vocabulary. Refresh tokens never leave this object except into the vault.
 */
export class Broker {
  readonly #accounts: AccountStore;
  readonly #vault: Vault;
  readonly #log: Logger;
  readonly #browser: BrowserOpener | undefined;
  readonly #now: () => Date;
  readonly #random: () => number;
  readonly #timeoutMs: number;
  readonly #backoff: BackoffPolicy;
  readonly #maxWaitMs: number;
  readonly #runtime = new Map<string, Runtime>();
  readonly #listeners = new Set<(change: StatusChange) => void>();
  readonly #clients = new Map<string, OAuthClient>();
  #stopSleepWatch: (() => void) | null = null;
  #stopped = false;
  /** How often a consumer had to wait for a refresh (for measurements). */
  readonly stats = { onDemandRefreshes: 0, backgroundRefreshes: 0, refreshRequests: 0 };

  constructor(options: BrokerOptions) {
    this.#accounts = options.accounts;
    this.#vault = options.vault;
    this.#log = options.logger;
    this.#browser = options.browser;
    this.#now = options.now ?? (() => new Date());
    this.#random = options.random ?? Math.random;
    this.#timeoutMs = options.requestTimeoutMs ?? 20_000;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#maxWaitMs = options.maxWaitMs ?? 8_000;
    if (options.watchSleep) this.#stopSleepWatch = watchForSleep(() => void this.resume());
  }

  /** Loads every account's record and schedules its refresh. */
  async start(): Promise<void> {
    for (const account of this.#accounts.list()) await this.#reevaluate(account.id);
  }

  stop(): void {
    this.#stopped = true;
    this.#stopSleepWatch?.();
    for (const runtime of this.#runtime.values()) {
      if (runtime.timer) clearTimeout(runtime.timer);
      if (runtime.persistTimer) clearTimeout(runtime.persistTimer);
    }
  }

  /** Resolves once every refresh in flight has finished (and so written its tokens). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#runtime.values()].map((r) => r.inFlight).filter((p) => p !== null));
  }

  onStatus(listener: (change: StatusChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  list(): AccountView[] {
    return this.#accounts.list().map((a) => this.#view(a));
  }

  view(id: string): AccountView {
    return this.#view(this.#accounts.require(id));
  }

  async addAccount(input: Omit<AccountDefinitionInput, 'state' | 'createdAt' | 'hasClientSecret'>, secrets: NewAccountSecrets = {}): Promise<AccountView> {
    const account = await this.#accounts.add({
      ...input,
      hasClientSecret: !!secrets.clientSecret,
      createdAt: this.#now().toISOString(),
      state: { status: 'connecting', accessTokenExpiresAt: null, refreshTokenExpiresAt: null, lastRefreshAt: null, nextRefreshAt: null, lastError: null },
    });
    if (secrets.clientSecret) await this.#vault.write(account.id, { clientSecret: secrets.clientSecret });
    return this.#view(account);
  }

  /** Changes an account's configuration (e.g. after `misconfigured`); the tokens stay. */
  async reconfigure(id: string, change: (current: AccountDefinition) => AccountDefinitionInput, secrets: NewAccountSecrets = {}): Promise<AccountView> {
    const account = await this.#accounts.update(id, change);
    if (secrets.clientSecret !== undefined) {
      const record = await this.#vault.read(id);
      await this.#vault.write(id, { ...recordInput(record), clientSecret: secrets.clientSecret });
      await this.#accounts.update(id, (a) => ({ ...a, hasClientSecret: !!secrets.clientSecret }));
    }
    this.#clients.delete(id);
    this.#runtimeOf(id).attempt = 0;
    if (account.state.status === 'misconfigured') await this.#setState(id, { status: 'valid', lastError: null }, false);
    await this.#reevaluate(id);
    return this.view(id);
  }

  /**
   * Signs in (again). A failure leaves the previous tokens untouched and reports the error;
   * on success the new tokens are in the keychain before this resolves.
   */
  async signIn(id: string, options: { noBrowser?: boolean; onEvent?: (e: SignInEvent) => void; token?: string; expiresAt?: Date | null; timeoutMs?: number } = {}): Promise<AccountView> {
    const account = this.#accounts.require(id);
    const previous = await this.#vault.read(id);
    const client = await this.#client(account);
    let result: GrantResult;
    try {
      result = await signInFlow(client, { ...options, browser: this.#browser, now: this.#now, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
    } catch (error) {
      const failure = asTokentrayError(error);
      this.#log.warn({ account: id, err: failure }, 'sign-in failed; previous tokens kept');
      await this.#setState(id, { lastError: this.#errorState(failure) }, true);
      throw failure;
    }
    const runtime = this.#runtimeOf(id);
    runtime.attempt = 0;
    await this.#store(id, previous, result, { replaceRefreshToken: true });
    await this.#setState(id, { status: 'valid', lastError: null, lastRefreshAt: this.#now().toISOString() }, true);
    await this.#reevaluate(id);
    return this.view(id);
  }

  /**
   * A valid access token, good for at least `minTtl` seconds (capped at half the token's
   * lifetime), refreshing first if needed. `scopes` the grant lacks mean a new sign-in.
   */
  async getToken(id: string, options: { minTtlSeconds?: number; scopes?: string[] } = {}): Promise<TokenAnswer> {
    const account = this.#accounts.require(id);
    if (account.state.status === 'reauth_required') throw this.#reauthError(account);
    const record = await this.#vault.read(id);
    if (!record?.accessToken) {
      if (account.state.status === 'connecting' || !record) throw new TokentrayError('reauth_required', `"${id}" is not signed in yet: run "tokentray login ${id}"`);
    }
    if (options.scopes && options.scopes.length > 0) {
      const granted = new Set(record?.scopes.length ? record.scopes : account.scopes);
      const missing = options.scopes.filter((s) => !granted.has(s));
      if (missing.length > 0) {
        throw new TokentrayError('reauth_required', `"${id}" was not granted ${missing.join(' ')}; a refresh cannot add scopes: sign in again asking for them`);
      }
    }
    const minTtlMs = effectiveMinTtlMs((options.minTtlSeconds ?? 30) * 1000, lifetimeMs(date(record?.accessTokenExpiresAt), date(record?.accessTokenIssuedAt)));
    if (record && this.#validFor(record) >= minTtlMs) return this.#answer(account, record);
    if (account.state.status === 'misconfigured') {
      if (record && this.#validFor(record) > 0) return this.#answer(account, record);
      throw new TokentrayError('misconfigured', account.state.lastError?.message ?? `"${id}" is misconfigured`);
    }
    if (!this.#canRenew(account, record)) {
      if (record && this.#validFor(record) > 0) return this.#answer(account, record);
      await this.#setState(id, { status: 'reauth_required', nextRefreshAt: null }, true);
      throw this.#reauthError(this.#accounts.require(id));
    }
    const runtime = this.#runtimeOf(id);
    const backingOff = (account.state.status === 'retrying' || account.state.status === 'expired') && !runtime.inFlight && runtime.dueAt !== null && runtime.dueAt > this.#now().getTime();
    if (backingOff) {
      // The provider failed moments ago: do not hammer it, answer at once.
      if (record && this.#validFor(record) > 0) return this.#answer(account, record);
      throw this.#unavailable(account, runtime.dueAt! - this.#now().getTime());
    }
    try {
      if (!runtime.inFlight) this.stats.onDemandRefreshes++;
      const refreshed = this.#refreshOnce(id);
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([
        refreshed,
        new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), this.#maxWaitMs); }),
      ]).finally(() => clearTimeout(timer));
      if (waited === null) {
        refreshed.catch(() => undefined); // it goes on in the background
        if (record && this.#validFor(record) > 0) return this.#answer(account, record);
        throw this.#unavailable(account, this.#backoff.baseMs);
      }
      return this.#answer(this.#accounts.require(id), waited);
    } catch (error) {
      const failure = asTokentrayError(error);
      const current = await this.#vault.read(id);
      if (failure.code === 'provider_unavailable' && current && this.#validFor(current) > 0) {
        return this.#answer(this.#accounts.require(id), current); // still valid: its expires_in tells the truth
      }
      throw failure;
    }
  }

  /** Refreshes now (joining one in flight) and resolves with the account as it is after. */
  async refresh(id: string): Promise<AccountView> {
    const account = this.#accounts.require(id);
    const record = await this.#vault.read(id);
    // A grant the provider ended stays ended: only a sign-in helps (no request that would fail).
    if (account.state.status === 'reauth_required' || !this.#canRenew(account, record)) throw this.#reauthError(account);
    await this.#refreshOnce(id);
    return this.view(id);
  }

  /** Revokes at the provider (unless kept), then deletes every local trace. */
  async remove(id: string, options: { keepRemote?: boolean } = {}): Promise<{ revoked: boolean; note: string | null }> {
    const account = this.#accounts.require(id);
    const record = await this.#vault.read(id).catch(() => null);
    let revoked = false;
    let note: string | null = null;
    if (!options.keepRemote && account.flow !== 'manual' && record && (record.refreshToken || record.accessToken)) {
      const client = await this.#client(account);
      if (!(await client.hasRevocationEndpoint().catch(() => false))) {
        note = 'the provider has no revocation endpoint: the grant was deleted locally only';
      } else {
        await revokeWithRetry(client, record, this.#random);
        revoked = true;
      }
    }
    const runtime = this.#runtime.get(id);
    if (runtime?.timer) clearTimeout(runtime.timer);
    if (runtime?.persistTimer) clearTimeout(runtime.persistTimer);
    this.#runtime.delete(id);
    this.#clients.delete(id);
    await this.#vault.delete(id);
    await this.#accounts.remove(id);
    return { revoked, note };
  }

  /** Re-checks every account (after sleep or a long timer gap). */
  async resume(): Promise<void> {
    this.#log.info('resume: re-checking every account');
    await this.#vault.retryPending().catch(() => undefined);
    for (const account of this.#accounts.list()) await this.#reevaluate(account.id, true);
  }

  // ---- refresh ----------------------------------------------------------------------------

  #refreshOnce(id: string): Promise<TokenRecord> {
    const runtime = this.#runtimeOf(id);
    if (!runtime.inFlight) {
      runtime.inFlight = this.#doRefresh(id).finally(() => { runtime.inFlight = null; });
    }
    return runtime.inFlight;
  }

  async #doRefresh(id: string): Promise<TokenRecord> {
    const account = this.#accounts.require(id);
    const record = await this.#vault.read(id);
    const runtime = this.#runtimeOf(id);
    if (runtime.timer) clearTimeout(runtime.timer);
    await this.#setState(id, { status: 'refreshing' }, true);
    try {
      const client = await this.#client(account);
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
      // REQUIREMENTS 17: the rotated refresh token is in the vault before the token is served.
      const stored = await this.#store(id, record, result, { replaceRefreshToken: false });
      runtime.attempt = 0;
      await this.#setState(id, { status: 'valid', lastError: null, lastRefreshAt: this.#now().toISOString() }, true);
      this.#schedule(id, stored);
      return stored;
    } catch (error) {
      const failure = asTokentrayError(error);
      await this.#onRefreshFailure(id, failure);
      if (failure.code === 'invalid_grant') throw new TokentrayError('reauth_required', `${failure.message}`, { cause: failure });
      throw failure;
    }
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
    const runtime = this.#runtimeOf(id);
    const lastError = this.#errorState(failure);
    if (failure.code === 'invalid_grant' || failure.code === 'reauth_required') {
      this.#log.warn({ account: id, err: failure }, 'the provider ended the grant: sign-in required');
      await this.#setState(id, { status: 'reauth_required', lastError, nextRefreshAt: null }, true);
      return;
    }
    if (failure.code === 'misconfigured' || failure.code === 'invalid_config' || failure.code === 'insecure_url') {
      this.#log.error({ account: id, err: failure }, 'refresh refused: the account is misconfigured; the refresh token is kept');
      await this.#setState(id, { status: 'misconfigured', lastError, nextRefreshAt: null }, true);
      return;
    }
    // Transient: keep everything, back off, keep serving what is still valid.
    const retryAfter = failure instanceof ProviderError ? failure.retryAfterMs : null;
    const delay = backoffDelayMs(runtime.attempt, this.#backoff, retryAfter, this.#random);
    runtime.attempt++;
    const at = new Date(this.#now().getTime() + delay);
    const record = await this.#vault.read(id).catch(() => null);
    const status: AccountStatus = record && this.#validFor(record) > 0 ? 'retrying' : 'expired';
    this.#log.warn({ account: id, err: failure, retryInMs: delay, attempt: runtime.attempt }, 'refresh failed; will retry');
    runtime.dueAt = at.getTime();
    await this.#setState(id, { status, lastError, nextRefreshAt: at.toISOString() }, true);
    const validFor = record ? this.#validFor(record) : 0;
    this.#arm(id, validFor > 0 ? Math.min(delay, validFor + 10) : delay);
  }

  // ---- scheduling -------------------------------------------------------------------------

  /** Decides what an account needs now: a refresh, a timer, or a status change. */
  async #reevaluate(id: string, resuming = false): Promise<void> {
    if (this.#stopped) return;
    const account = this.#accounts.get(id);
    if (!account) return;
    const status = account.state.status;
    if (status === 'reauth_required' || status === 'misconfigured' || status === 'connecting') return;
    let record: TokenRecord | null;
    try {
      record = await this.#vault.read(id);
    } catch (error) {
      await this.#setState(id, { lastError: this.#errorState(asTokentrayError(error)) }, true);
      const delay = backoffDelayMs(this.#runtimeOf(id).attempt++, this.#backoff, null, this.#random);
      this.#runtimeOf(id).dueAt = null;
      this.#arm(id, delay);
      return;
    }
    if (!record?.accessToken) return;
    const valid = this.#validFor(record) > 0;
    if (!this.#canRenew(account, record)) {
      if (!valid) await this.#setState(id, { status: 'reauth_required', nextRefreshAt: null }, true);
      else {
        if (status !== 'valid') await this.#setState(id, { status: 'valid' }, true);
        this.#runtimeOf(id).dueAt = null;
        this.#arm(id, this.#validFor(record) + 10); // flip to reauth_required at expiry
      }
      return;
    }
    if ((status === 'retrying' || status === 'expired') && !resuming) {
      if (!valid && status === 'retrying') await this.#setState(id, { status: 'expired' }, true);
      const runtime = this.#runtimeOf(id);
      runtime.dueAt ??= date(account.state.nextRefreshAt)?.getTime() ?? this.#now().getTime();
      const wait = Math.max(0, runtime.dueAt - this.#now().getTime());
      this.#arm(id, valid ? Math.min(wait, this.#validFor(record) + 10) : wait);
      return;
    }
    if (resuming && (status === 'retrying' || status === 'expired')) {
      this.#runtimeOf(id).dueAt = this.#now().getTime(); // after a sleep: try again now
      this.#arm(id, 0);
      return;
    }
    if (status !== 'valid' && status !== 'refreshing' && valid) await this.#setState(id, { status: 'valid' }, true);
    this.#schedule(id, record);
  }

  #schedule(id: string, record: TokenRecord): void {
    const account = this.#accounts.get(id);
    if (!account) return;
    const due = nextRefreshAt(
      { accessTokenExpiresAt: date(record.accessTokenExpiresAt), accessTokenIssuedAt: date(record.accessTokenIssuedAt), refreshTokenExpiresAt: date(record.refreshTokenExpiresAt), refreshTokenIssuedAt: date(record.refreshTokenIssuedAt) },
      this.#now(),
      this.#canRenew(account, record),
      !!record.refreshToken,
      this.#random,
    );
    this.#runtimeOf(id).dueAt = due?.getTime() ?? null;
    void this.#setState(id, { nextRefreshAt: due?.toISOString() ?? null }, false);
    if (due) this.#arm(id, due.getTime() - this.#now().getTime());
  }

  #arm(id: string, delayMs: number): void {
    if (this.#stopped) return;
    const runtime = this.#runtimeOf(id);
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
    const runtime = this.#runtimeOf(id);
    if (!this.#canRenew(account, record) || runtime.dueAt === null) {
      await this.#reevaluate(id);
      return;
    }
    const now = this.#now().getTime();
    if (runtime.dueAt <= now + 5) {
      this.stats.backgroundRefreshes++;
      await this.#refreshOnce(id).catch(() => undefined); // failures are handled in status and backoff
      return;
    }
    // Not due yet: this was the expiry watch of a token that is being retried.
    if (status === 'retrying' && record && this.#validFor(record) <= 0) await this.#setState(id, { status: 'expired' }, true);
    this.#arm(id, runtime.dueAt - now);
  }

  // ---- records and state ------------------------------------------------------------------

  async #store(id: string, previous: TokenRecord | null, result: GrantResult, options: { replaceRefreshToken: boolean }): Promise<TokenRecord> {
    const input = mergeGrant(previous, result, this.#accounts.require(id).scopes, { freshSignIn: options.replaceRefreshToken });
    const { record, persisted } = await this.#vault.write(id, input);
    if (!persisted) this.#retryPersist(id);
    await this.#setState(id, { accessTokenExpiresAt: record.accessTokenExpiresAt, refreshTokenExpiresAt: record.refreshTokenExpiresAt }, false);
    return record;
  }

  /** REQUIREMENTS 20: a failed keychain write is retried with backoff; the tokens stay in memory meanwhile. */
  #retryPersist(id: string): void {
    const runtime = this.#runtimeOf(id);
    if (runtime.persistTimer || this.#stopped) return;
    const delay = backoffDelayMs(runtime.persistAttempt++, this.#backoff, null, this.#random);
    runtime.persistTimer = setTimeout(() => {
      runtime.persistTimer = null;
      void this.#vault.retryPending().then((pending) => {
        if (pending.includes(id)) this.#retryPersist(id);
        else {
          runtime.persistAttempt = 0;
          this.#emit(id, this.#accounts.get(id)?.state.status ?? 'valid');
        }
      });
    }, delay);
    runtime.persistTimer.unref();
  }

  async #setState(id: string, state: Partial<AccountState>, announce: boolean): Promise<void> {
    const before = this.#accounts.get(id);
    if (!before) return;
    const changed = (Object.keys(state) as (keyof AccountState)[]).some((k) => JSON.stringify(before.state[k]) !== JSON.stringify(state[k]));
    if (!changed) return;
    try {
      await this.#accounts.setState(id, state);
    } catch (error) {
      if (asTokentrayError(error).code === 'account_not_found') return;
      this.#log.error({ account: id, err: error }, 'could not record the account status');
      return;
    }
    if (announce && state.status && state.status !== before.state.status) this.#emit(id, before.state.status);
  }

  #emit(id: string, previous: AccountStatus): void {
    const account = this.#accounts.get(id);
    if (!account) return;
    this.#log.info({ account: id, from: previous, to: account.state.status }, 'status');
    const change = { account: this.#view(account), previous };
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (error) {
        this.#log.error({ err: error }, 'a status listener failed');
      }
    }
  }

  #view(account: AccountDefinition): AccountView {
    return accountView(account, this.#vault.isPersisted(account.id) && this.#vault.status().lastError?.code !== 'keychain_unavailable');
  }

  #errorState(error: TokentrayError): AccountState['lastError'] {
    return { code: error.code, message: error.message.slice(0, 2000), at: this.#now().toISOString() };
  }

  #unavailable(account: AccountDefinition, retryInMs: number): ProviderError {
    return new ProviderError('provider_unavailable', `"${account.id}" has no valid token and its provider is not answering${account.state.lastError ? ` (${account.state.lastError.message})` : ''}`, { retryAfterMs: Math.max(1000, retryInMs) });
  }

  #reauthError(account: AccountDefinition): TokentrayError {
    return new TokentrayError('reauth_required', `"${account.id}" needs you to sign in again: run "tokentray login ${account.id}"${account.state.lastError ? ` (${account.state.lastError.message})` : ''}`);
  }

  #validFor(record: TokenRecord): number {
    return validForMs(record, this.#now());
  }

  #canRenew(account: AccountDefinition, record: TokenRecord | null): boolean {
    return canRenew(account, record);
  }

  #answer(account: AccountDefinition, record: TokenRecord): TokenAnswer {
    return tokenAnswer(account, record, this.#now());
  }

  async #client(account: AccountDefinition): Promise<OAuthClient> {
    let client = this.#clients.get(account.id);
    if (!client || configKey(client.account) !== configKey(account)) {
      const record = await this.#vault.read(account.id).catch(() => null);
      client = new OAuthClient({ account, clientSecret: record?.clientSecret ?? null, timeoutMs: this.#timeoutMs, now: this.#now });
      this.#clients.set(account.id, client);
    }
    return client;
  }

  #runtimeOf(id: string): Runtime {
    let runtime = this.#runtime.get(id);
    if (!runtime) {
      runtime = { timer: null, dueAt: null, inFlight: null, attempt: 0, persistTimer: null, persistAttempt: 0 };
      this.#runtime.set(id, runtime);
    }
    return runtime;
  }
}

/** An account's configuration without its changing state: a client is rebuilt only when this changes. */
function configKey(account: AccountDefinition): string {
  return JSON.stringify({ ...account, state: null });
}

function date(value: string | null | undefined): Date | null {
  return value ? new Date(value) : null;
}

function asTokentrayError(error: unknown): TokentrayError {
  if (error instanceof TokentrayError) return error;
  return new TokentrayError('internal', error instanceof Error ? error.message : String(error), { cause: error });
}
