import type { AccountState } from '../../../shared/account.ts';
import { TokentrayError } from '../../../shared/errors.ts';
import type { AccountStore } from '../accounts/account-store.ts';
import type { Logger } from '../log/logger.ts';
import type { GrantResult } from '../oauth/grant-result.ts';
import type { TokenRecord, TokenRecordInput } from '../vault/token-record.ts';
import type { Vault } from '../vault/vault.ts';
import { decide, nextStatus, type AccountEvent, type Command, type Decision, type Operation } from './account-transitions.ts';
import { expiries, mergeGrant, withIssuedRefreshToken } from './record-merge.ts';
import type { StatusBook } from './status-book.ts';
import { validForMs } from './token-answer.ts';

export interface MachineDeps {
  accounts: AccountStore;
  vault: Vault;
  book: StatusBook;
  logger: Logger;
  now: () => Date;
  /** Told when a write left the record in memory only (the keychain failed). */
  onNotPersisted: (id: string) => void;
}

const MAX_TIMER_MS = 6 * 60 * 60_000;

/**
 * One account's life: its status, the operations running on it (sign-in, refresh, removal),
 * its timers, and the only writer of its record and status. Every change of the record and
 * of the status runs through `exclusive`, one after another, so no two operations of the same
 * account interleave their writes; what may follow what is `account-transitions.ts`.
 */
export class AccountMachine {
  readonly id: string;
  readonly #deps: MachineDeps;
  /** When the next refresh attempt is due (epoch ms), or null when none is planned. */
  dueAt: number | null = null;
  /** Transient failures in a row (the backoff's exponent). */
  attempt = 0;
  /**
   * Grows with every completed sign-in. A refresh remembers it when it starts; one that
   * finishes after a newer sign-in carries the older grant and is discarded.
   */
  #epoch = 0;
  #timer: NodeJS.Timeout | null = null;
  #refresh: Promise<TokenRecord> | null = null;
  #signIn: AbortController | null = null;
  #removing = false;
  #writes: Promise<unknown> = Promise.resolve();

  constructor(id: string, deps: MachineDeps) {
    this.id = id;
    this.#deps = deps;
  }

  get epoch(): number {
    return this.#epoch;
  }

  get refreshInFlight(): Promise<TokenRecord> | null {
    return this.#refresh;
  }

  get removing(): boolean {
    return this.#removing;
  }

  /** What `command` does now, by the table. */
  decide(command: Command): Decision {
    const running = new Set<Operation>();
    if (this.#removing) running.add('remove');
    if (this.#refresh) running.add('refresh');
    if (this.#signIn) running.add('sign_in');
    return decide(command, running);
  }

  // ---- operations ---------------------------------------------------------------------------

  /** Runs `run` as the account's one refresh, or joins the one in flight. */
  refresh(run: (epoch: number) => Promise<TokenRecord>): Promise<TokenRecord> {
    const decision = this.decide('refresh');
    if (decision === 'refuse') return Promise.reject(new TokentrayError('account_not_found', `"${this.id}" is being removed`));
    if (decision === 'join' && this.#refresh) return this.#refresh;
    const epoch = this.#epoch;
    this.clearTimer();
    const flight = run(epoch).finally(() => { if (this.#refresh === flight) this.#refresh = null; });
    this.#refresh = flight;
    return flight;
  }

  /** Starts a sign-in (ending one still waiting for the person); returns its signal. */
  beginSignIn(): AbortController {
    if (this.decide('sign_in') === 'refuse') throw new TokentrayError('account_not_found', `"${this.id}" is being removed`);
    this.#signIn?.abort();
    const mine = new AbortController();
    this.#signIn = mine;
    return mine;
  }

  endSignIn(mine: AbortController): void {
    if (this.#signIn === mine) this.#signIn = null;
  }

  /** Ends a sign-in still waiting for the person; false when none was. */
  cancelSignIn(): boolean {
    const pending = this.#signIn;
    pending?.abort();
    return pending !== null;
  }

  /**
   * A sign-in's grant arrived: stored (a refresh still in flight is superseded), or, while
   * the account is being removed, `discard` — the caller revokes it and keeps nothing.
   */
  async signedIn(result: GrantResult, scopes: string[], fields: Partial<AccountState>): Promise<{ decision: 'discard' } | { decision: 'stored'; record: TokenRecord }> {
    if (this.decide('sign_in_done') === 'discard' || !this.#deps.accounts.get(this.id)) return { decision: 'discard' };
    return this.exclusive(async () => {
      this.#epoch++; // a refresh still in flight carries the older grant: it must not land
      this.attempt = 0;
      // A damaged previous record is what the sign-in replaces: it must not stop it.
      const previous = await this.#deps.vault.read(this.id).catch(() => null);
      const record = await this.#write(mergeGrant(previous, result, scopes, { freshSignIn: true }));
      await this.applyHeld('signed_in', record, { ...expiries(record), ...fields, lastError: null });
      return { decision: 'stored', record };
    });
  }

  /**
   * A refresh's grant arrived: stored over the record as it is now, unless a newer sign-in
   * came meanwhile (then null: the refresh is discarded, neither stored nor revoked).
   */
  refreshed(epoch: number, result: GrantResult, scopes: string[], fields: (record: TokenRecord) => Partial<AccountState>): Promise<TokenRecord | null> {
    // Resolves once the keychain holds the new record (REQUIREMENTS 17: then it may be served);
    // the status write to accounts.json follows in the same turn of the queue, but no tool
    // waits for that disk write (`settled()` does).
    return new Promise<TokenRecord | null>((resolve, reject) => {
      void this.exclusive(async () => {
        if (epoch !== this.#epoch) {
          resolve(null);
          return;
        }
        let record: TokenRecord;
        try {
          const current = await this.#deps.vault.read(this.id);
          record = await this.#write(mergeGrant(current, result, scopes, { freshSignIn: false }));
        } catch (error) {
          reject(error);
          return;
        }
        this.attempt = 0;
        resolve(record);
        await this.applyHeld('refreshed', record, fields(record)).catch((error: unknown) => this.#deps.logger.error({ account: this.id, err: error }, 'could not record the refresh'));
      });
    });
  }

  /**
   * An unusable refresh answer carried a new refresh token: the record keeps everything else
   * and continues the grant with it (record-merge.ts withIssuedRefreshToken), unless a newer
   * sign-in came meanwhile or the record moved on.
   */
  keepIssuedRefreshToken(epoch: number, presented: string, refreshToken: string): Promise<boolean> {
    return this.exclusive(async () => {
      if (epoch !== this.#epoch) return false;
      const current = await this.#deps.vault.read(this.id);
      if (!current || current.refreshToken !== presented) return false;
      await this.#write(withIssuedRefreshToken(current, refreshToken, this.#deps.now()));
      return true;
    });
  }

  /** Resolves once every change queued for this account so far has landed (its status too). */
  settled(): Promise<void> {
    return this.#writes.then(() => undefined);
  }

  /** Holds refreshes and sign-ins off and waits for the one in flight (a removal starts). */
  async beginRemove(): Promise<() => void> {
    this.#removing = true;
    this.#signIn?.abort();
    this.clearTimer();
    await this.#refresh?.catch(() => undefined);
    await this.#writes.catch(() => undefined);
    return () => { this.#removing = false; };
  }

  // ---- record and status --------------------------------------------------------------------

  /** Runs `change` after every earlier change of this account's record or status. */
  exclusive<T>(change: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(change, change);
    this.#writes = run.catch(() => undefined);
    return run;
  }

  /** Applies `event` by the table (queued after the account's other writes). */
  apply(event: AccountEvent, record: TokenRecord | null, fields: Partial<AccountState> = {}): Promise<boolean> {
    return this.exclusive(() => this.applyHeld(event, record, fields));
  }

  /** `apply` for code already inside `exclusive`. False when the event did not apply. */
  async applyHeld(event: AccountEvent, record: TokenRecord | null, fields: Partial<AccountState> = {}): Promise<boolean> {
    const account = this.#deps.accounts.get(this.id);
    if (!account) return false;
    const tokenValid = record !== null && validForMs(record, this.#deps.now()) > 0;
    const status = nextStatus(account.state.status, event, { tokenValid });
    if (status === null) {
      this.#deps.logger.debug({ account: this.id, event, status: account.state.status }, 'event ignored in this status');
      return false;
    }
    await this.#deps.book.setState(this.id, { ...fields, status }, true);
    return true;
  }

  /** Records state fields that are not the status (last error, next refresh). */
  note(fields: Partial<AccountState>, announce = true): Promise<void> {
    if ('status' in fields) throw new TokentrayError('internal', 'a status changes through an event');
    return this.exclusive(() => this.#deps.book.setState(this.id, fields, announce));
  }

  async #write(input: TokenRecordInput): Promise<TokenRecord> {
    const { record, persisted } = await this.#deps.vault.write(this.id, input);
    if (!persisted) this.#deps.onNotPersisted(this.id);
    return record;
  }

  // ---- timers -------------------------------------------------------------------------------

  arm(delayMs: number, fire: () => void): void {
    this.clearTimer();
    const wait = Math.max(0, Math.min(delayMs, MAX_TIMER_MS));
    this.#timer = setTimeout(() => {
      this.#timer = null;
      fire();
    }, wait);
    this.#timer.unref();
  }

  get hasTimer(): boolean {
    return this.#timer !== null;
  }

  clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Drops every timer (the broker stops, or the account is gone). */
  dispose(): void {
    this.clearTimer();
  }
}
