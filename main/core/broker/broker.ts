import type { AccountDefinition, AccountDefinitionInput } from '../../../shared/account.ts';
import type { AccountView } from '../../../shared/account-view.ts';
import { TokentrayError } from '../../../shared/errors.ts';
import type { AccountStore } from '../accounts/account-store.ts';
import type { Logger } from '../log/logger.ts';
import type { GrantResult } from '../oauth/grant-result.ts';
import { ProviderError } from '../oauth/provider-error.ts';
import { signInFlow, type BrowserOpener, type SignInEvent } from '../oauth/sign-in.ts';
import { DEFAULT_BACKOFF, effectiveMinTtlMs, type BackoffPolicy } from '../refresh/refresh-policy.ts';
import type { TokenRecord } from '../vault/token-record.ts';
import type { Vault } from '../vault/vault.ts';
import { AccountMachine } from './account-machine.ts';
import { ProviderClients } from './provider-clients.ts';
import { recordInput } from './record-merge.ts';
import { RefreshEngine } from './refresh-engine.ts';
import { StatusBook, type StatusChange } from './status-book.ts';
import { asTokentrayError } from './values.ts';
import { cachedTokenAnswer, canRenew, recordTimes, tokenAnswer, validForMs, type TokenAnswer } from './token-answer.ts';
import { revokeWithRetry } from '../oauth/revocation.ts';
import { watchForSleep } from '../refresh/sleep-watch.ts';
import { systemNow } from '../clock.ts';

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
  /** How requests reach providers (default: the global fetch). */
  fetch?: typeof fetch;
  /** Token requests that may run at once toward one provider (default 8). */
  providerConcurrency?: number;
}

export type { StatusChange } from './status-book.ts';

export interface NewAccountSecrets {
  clientSecret?: string | null;
}

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
  readonly #backoff: BackoffPolicy;
  readonly #maxWaitMs: number;
  readonly #providers: ProviderClients;
  /** One machine per account: the only writer of its record and status. */
  readonly #machines = new Map<string, AccountMachine>();
  /** The last listing and what it was built from (see listJson). */
  #listing: { accounts: AccountDefinition[]; persisted: boolean[]; body: Buffer } | null = null;
  readonly #removals = new Map<string, Promise<{ revoked: boolean; note: string | null }>>();
  readonly #book: StatusBook;
  readonly #engine: RefreshEngine;
  #stopSleepWatch: (() => void) | null = null;
  readonly #removedListeners = new Set<(id: string) => void>();

  constructor(options: BrokerOptions) {
    this.#accounts = options.accounts;
    this.#vault = options.vault;
    this.#log = options.logger;
    this.#browser = options.browser;
    this.#now = options.now ?? systemNow;
    this.#random = options.random ?? Math.random;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#maxWaitMs = options.maxWaitMs ?? 8_000;
    this.#providers = new ProviderClients({ vault: this.#vault, now: this.#now, timeoutMs: options.requestTimeoutMs ?? 20_000, fetch: options.fetch, concurrency: options.providerConcurrency ?? 8 });
    this.#book = new StatusBook({ accounts: this.#accounts, vault: this.#vault, logger: this.#log, now: this.#now });
    this.#engine = new RefreshEngine({
      accounts: this.#accounts,
      vault: this.#vault,
      logger: this.#log,
      book: this.#book,
      machineFor: (id) => this.#machine(id),
      machines: () => this.#machines.values(),
      clientFor: (account) => this.#providers.clientFor(account),
      now: this.#now,
      random: this.#random,
      backoff: this.#backoff,
    });
    if (options.watchSleep) this.#stopSleepWatch = watchForSleep(() => void this.resume(), () => this.#now().getTime());
  }

  /** How often a consumer had to wait for a refresh, and how many requests were sent. */
  get stats(): RefreshEngine['stats'] {
    return this.#engine.stats;
  }

  /**
   * Loads every account's record and schedules its refresh, eight at a time (the keychain
   * process answers four at once). Token requests need not wait for it: they read what they
   * need themselves, so a broker with thousands of accounts answers at once. The statuses it
   * finds are routine changes (written within a minute), so it never waits for the disk.
   */
  async start(): Promise<void> {
    const ids = this.#accounts.list().map((a) => a.id);
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        await this.#engine.reevaluate(id).catch((error: unknown) => this.#log.error({ account: id, err: error }, 'could not check the account at start'));
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: Math.min(8, ids.length) }, worker));
    this.#log.info({ accounts: ids.length, ms: Math.round(performance.now() - started) }, 'every account checked');
  }

  stop(): void {
    this.#stopSleepWatch?.();
    this.#engine.stop();
  }

  /** Resolves once every refresh in flight has finished (and so written its tokens). */
  settle(): Promise<void> {
    return this.#engine.settle();
  }

  onStatus(listener: (change: StatusChange) => void): () => void {
    return this.#book.onStatus(listener);
  }

  /** Hears each account removal, whoever asked for it (CLI, window, API). */
  onRemoved(listener: (id: string) => void): () => void {
    this.#removedListeners.add(listener);
    return () => this.#removedListeners.delete(listener);
  }

  /** Ends a sign-in still waiting for the person; false when none was. */
  cancelSignIn(id: string): boolean {
    return this.#machines.get(id)?.cancelSignIn() ?? false;
  }

  list(): AccountView[] {
    return this.#accounts.list().map((a) => this.#book.view(a));
  }

  /**
   * `{"accounts":[…]}` as UTF-8 JSON, for the accounts the filter lets through. Each view's JSON
   * is cached per account; the whole answer is reused while every listed definition and
   * `persisted` flag is the one it was built from (a window or a script polling an unchanged
   * list: at 10,000 accounts, 3.9 MB joined and encoded anew was 142 ms p99 against 12 ms).
   */
  listJson(visible: (id: string) => boolean): Buffer {
    const accounts = this.#accounts.list().filter((a) => visible(a.id));
    const persisted = accounts.map((a) => this.#book.persisted(a.id));
    const last = this.#listing;
    if (last && last.accounts.length === accounts.length && accounts.every((a, i) => a === last.accounts[i] && persisted[i] === last.persisted[i])) return last.body;
    const body = Buffer.from(`{"accounts":[${accounts.map((a) => this.#book.viewJson(a)).join(',')}]}`);
    this.#listing = { accounts, persisted, body };
    return body;
  }

  view(id: string): AccountView {
    return this.#book.view(this.#accounts.require(id));
  }

  async addAccount(input: Omit<AccountDefinitionInput, 'state' | 'createdAt' | 'hasClientSecret'>, secrets: NewAccountSecrets = {}): Promise<AccountView> {
    const existing = this.#accounts.get(input.id);
    if (existing?.state.status === 'connecting') {
      throw new TokentrayError('account_exists', `an account with id "${input.id}" exists already but never finished signing in: run "tokentray login ${input.id}", or "tokentray remove ${input.id}" and add it again`);
    }
    const account = await this.#accounts.add({
      ...input,
      hasClientSecret: !!secrets.clientSecret,
      createdAt: this.#now().toISOString(),
      state: { status: 'connecting', accessTokenExpiresAt: null, refreshTokenExpiresAt: null, lastRefreshAt: null, nextRefreshAt: null, lastError: null },
    });
    if (secrets.clientSecret) await this.#vault.write(account.id, { clientSecret: secrets.clientSecret });
    return this.#book.view(account);
  }

  /** Changes an account's configuration (e.g. after `misconfigured`); the tokens stay. */
  async reconfigure(id: string, change: (current: AccountDefinition) => AccountDefinitionInput, secrets: NewAccountSecrets = {}): Promise<AccountView> {
    this.#accounts.require(id); // before the vault learns anything about it
    const machine = this.#machine(id);
    const decision = machine.decide('reconfigure');
    if (decision === 'refuse') throw new TokentrayError('account_not_found', `"${id}" is being removed`);
    // A refresh in flight lands first: it merges its grant into the record this writes.
    if (decision === 'after') await machine.refreshInFlight?.catch(() => undefined);
    const secret = secrets.clientSecret;
    await machine.exclusive(async () => {
      if (secret !== undefined) await this.#vault.write(id, { ...recordInput(await this.#vault.read(id)), clientSecret: secret });
      const account = await this.#accounts.update(id, (current) => ({ ...change(current), ...(secret !== undefined ? { hasClientSecret: !!secret } : {}) }));
      this.#providers.forget(id);
      machine.attempt = 0;
      // Fixed, as far as we can tell: back to what the tokens say, announced like every change;
      // the next refresh proves it (or says misconfigured again).
      if (account.state.status === 'misconfigured') await machine.applyHeld('reconfigured', await this.#vault.read(id).catch(() => null), { lastError: null });
    });
    await this.#engine.reevaluate(id);
    return this.view(id);
  }

  /**
   * Signs in (again). A failure leaves the previous tokens untouched and reports the error;
   * on success the new tokens are in the keychain before this resolves.
   */
  async signIn(id: string, options: { noBrowser?: boolean; onEvent?: (e: SignInEvent) => void; token?: string; expiresAt?: Date | null; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<AccountView> {
    const account = this.#accounts.require(id);
    const client = await this.#providers.clientFor(account);
    const machine = this.#machine(id);
    // One sign-in per account: a new one cancels the one still waiting for the person.
    const mine = machine.beginSignIn();
    const signal = options.signal ? AbortSignal.any([options.signal, mine.signal]) : mine.signal;
    let result: GrantResult;
    try {
      result = await signInFlow(client, { ...options, signal, browser: this.#browser, now: this.#now, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
    } catch (error) {
      const failure = asTokentrayError(error);
      this.#log.warn({ account: id, err: failure }, 'sign-in failed; previous tokens kept');
      await machine.note({ lastError: this.#book.errorState(failure) });
      throw failure;
    } finally {
      machine.endSignIn(mine);
    }
    const outcome = await machine.signedIn(result, account.scopes, { lastRefreshAt: this.#now().toISOString() });
    if (outcome.decision === 'discard') {
      // Removed while the provider was answering: keep nothing, and end the grant we just got.
      const removed = new TokentrayError('sign_in_failed', `"${id}" was removed during its sign-in; nothing was kept`);
      if (await client.hasRevocationEndpoint().catch(() => false)) {
        await revokeWithRetry(client, result, this.#random).catch((error: unknown) => this.#log.warn({ account: id, err: error }, 'could not revoke the tokens of a removed account'));
      }
      throw removed;
    }
    await this.#engine.reevaluate(id);
    return this.view(id);
  }

  /**
   * A valid access token, good for at least `minTtl` seconds (capped at half the token's
   * lifetime), refreshing first if needed. `scopes` the grant lacks mean a new sign-in.
   */
  /**
   * getToken's answer when it needs no wait: the account's token is held in memory and valid
   * for the min TTL. Otherwise null: ask getToken, which decides everything else (refresh,
   * errors). The token route's hot path: no promise, no await.
   */
  tokenNow(id: string, options: { minTtlSeconds?: number } = {}): TokenAnswer | null {
    const account = this.#accounts.get(id);
    if (!account || account.state.status === 'reauth_required') return null;
    const record = this.#vault.peek(id);
    if (!record?.accessToken) return null;
    const times = recordTimes(record);
    const nowMs = this.#now().getTime();
    const validFor = times.expiresMs === null ? Number.POSITIVE_INFINITY : times.expiresMs - nowMs;
    return validFor >= effectiveMinTtlMs((options.minTtlSeconds ?? 30) * 1000, times.lifetimeMs) ? cachedTokenAnswer(account, record, nowMs) : null;
  }

  async getToken(id: string, options: { minTtlSeconds?: number; scopes?: string[] } = {}): Promise<TokenAnswer> {
    const account = this.#accounts.require(id);
    if (account.state.status === 'reauth_required') throw this.#reauthError(account);
    const record = await this.#readOrDamaged(account);
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
    const minTtlMs = effectiveMinTtlMs((options.minTtlSeconds ?? 30) * 1000, record ? recordTimes(record).lifetimeMs : null);
    if (record && this.#validFor(record) >= minTtlMs) return this.#answer(account, record);
    if (account.state.status === 'misconfigured') {
      if (record && this.#validFor(record) > 0) return this.#answer(account, record);
      throw new TokentrayError('misconfigured', account.state.lastError?.message ?? `"${id}" is misconfigured`);
    }
    if (!this.#canRenew(account, record)) {
      if (record && this.#validFor(record) > 0) return this.#answer(account, record);
      await this.#machine(id).apply('cannot_renew', record, { nextRefreshAt: null });
      throw this.#reauthError(this.#accounts.require(id));
    }
    const runtime = this.#machine(id);
    const backingOff = (account.state.status === 'retrying' || account.state.status === 'expired') && !runtime.refreshInFlight && runtime.dueAt !== null && runtime.dueAt > this.#now().getTime();
    if (backingOff) {
      // The provider failed moments ago: do not hammer it, answer at once.
      if (record && this.#validFor(record) > 0) return this.#answer(account, record);
      throw this.#unavailable(account, runtime.dueAt! - this.#now().getTime());
    }
    try {
      if (!runtime.refreshInFlight) this.#engine.stats.onDemandRefreshes++;
      const refreshed = this.#engine.refreshOnce(id);
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
    const record = await this.#readOrDamaged(account);
    // A grant the provider ended stays ended: only a sign-in helps (no request that would fail).
    if (account.state.status === 'reauth_required' || !this.#canRenew(account, record)) throw this.#reauthError(account);
    await this.#engine.refreshOnce(id);
    await this.#machine(id).settled(); // the view shows the status the refresh left
    return this.view(id);
  }

  /** Revokes at the provider (unless kept), then deletes every local trace. */
  async remove(id: string, options: { keepRemote?: boolean } = {}): Promise<{ revoked: boolean; note: string | null }> {
    const account = this.#accounts.require(id);
    const machine = this.#machine(id);
    // A second removal of the same account shares the one running (the table's `join`).
    const running = this.#removals.get(id);
    if (machine.decide('remove') === 'join' && running) return running;
    const removal = (async () => {
      // A sign-in still waiting for the person ends here (its tokens would have no account); a
      // refresh in flight lands first (its rotated refresh token is the one to revoke), and no
      // other starts: nothing writes this account's record after it is deleted.
      const release = await machine.beginRemove();
      try {
        return await this.#removeHeld(id, account, options);
      } catch (error) {
        release();
        void this.#engine.reevaluate(id);
        throw error;
      }
    })().finally(() => this.#removals.delete(id));
    this.#removals.set(id, removal);
    return removal;
  }

  async #removeHeld(id: string, account: AccountDefinition, options: { keepRemote?: boolean }): Promise<{ revoked: boolean; note: string | null }> {
    const record = await this.#vault.read(id).catch(() => null);
    let revoked = false;
    let note: string | null = null;
    if (!options.keepRemote && account.flow !== 'manual' && record && (record.refreshToken || record.accessToken)) {
      const client = await this.#providers.clientFor(account);
      if (!(await client.hasRevocationEndpoint().catch(() => false))) {
        note = 'the provider has no revocation endpoint: the grant was deleted locally only';
      } else {
        await revokeWithRetry(client, record, this.#random);
        revoked = true;
      }
    }
    this.#machines.get(id)?.dispose();
    this.#machines.delete(id);
    this.#providers.forget(id);
    await this.#vault.delete(id);
    await this.#accounts.remove(id);
    for (const listener of this.#removedListeners) listener(id);
    return { revoked, note };
  }

  /** Re-checks every account (after sleep or a long timer gap). */
  async resume(): Promise<void> {
    this.#log.info('resume: re-checking every account');
    await this.#vault.retryPending().catch(() => undefined);
    for (const account of this.#accounts.list()) await this.#engine.reevaluate(account.id, true);
  }

  /** The account's record; damaged tokens turn the account to reauth_required (fix: sign in again), announced. */
  async #readOrDamaged(account: AccountDefinition): Promise<TokenRecord | null> {
    try {
      return await this.#vault.read(account.id);
    } catch (error) {
      const failure = asTokentrayError(error);
      if (failure.code !== 'record_corrupt') throw error;
      await this.#machine(account.id).apply('record_damaged', null, { lastError: this.#book.errorState(failure), nextRefreshAt: null });
      throw new TokentrayError('reauth_required', `the stored tokens of "${account.id}" are damaged: sign in again ("tokentray login ${account.id}")`, { cause: failure });
    }
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

  #machine(id: string): AccountMachine {
    let machine = this.#machines.get(id);
    if (!machine) {
      machine = new AccountMachine(id, { accounts: this.#accounts, vault: this.#vault, book: this.#book, logger: this.#log, now: this.#now, onNotPersisted: (a) => this.#engine.keychainRetry.notPersisted(a) });
      this.#machines.set(id, machine);
    }
    return machine;
  }

  /** The most token requests that ran at once toward any one provider (for measurements). */
  get peakProviderConcurrency(): number {
    return this.#providers.peakConcurrency;
  }
}
