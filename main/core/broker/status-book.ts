import type { AccountDefinition, AccountState } from '../../../shared/account.ts';
import type { AccountView } from '../../../shared/account-view.ts';
import type { TokentrayError } from '../../../shared/errors.ts';
import type { AccountStatus } from '../../../shared/status.ts';
import type { AccountStore } from '../accounts/account-store.ts';
import type { Logger } from '../log/logger.ts';
import type { Vault } from '../vault/vault.ts';
import { accountView } from './account-view.ts';

export interface StatusChange {
  account: AccountView;
  previous: AccountStatus;
}

/**
 * Where an account's status is written (to `accounts.json`) and announced: every change of
 * status reaches every listener (the API's event stream, the tray) exactly once.
 */
export class StatusBook {
  readonly #accounts: AccountStore;
  readonly #vault: Vault;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #listeners = new Set<(change: StatusChange) => void>();
  readonly #json = new WeakMap<AccountDefinition, { persisted: boolean; json: string }>();

  constructor(options: { accounts: AccountStore; vault: Vault; logger: Logger; now: () => Date }) {
    this.#accounts = options.accounts;
    this.#vault = options.vault;
    this.#log = options.logger;
    this.#now = options.now;
  }

  onStatus(listener: (change: StatusChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Records part of an account's state; with `announce`, a change of status is emitted. A
   * change out of a status the start-up check leaves alone (connecting, reauth_required,
   * misconfigured: a sign-in or a fix ended it) is on disk before it is announced, so a crash
   * cannot put the account back there. Every other change reaches the disk within a minute
   * (AccountStore.noteState): after a crash the start-up check works it out again from the
   * tokens (a lost reauth_required or misconfigured costs one refresh request to find again).
   */
  async setState(id: string, state: Partial<AccountState>, announce: boolean): Promise<void> {
    const before = this.#accounts.get(id);
    if (!before) return;
    const changed = (Object.keys(state) as (keyof AccountState)[]).some((k) => JSON.stringify(before.state[k]) !== JSON.stringify(state[k]));
    if (!changed) return;
    try {
      if (leftAloneAtStart(before.state.status)) await this.#accounts.setState(id, state);
      else this.#accounts.noteState(id, state);
    } catch (error) {
      if (asCode(error) === 'account_not_found') return;
      this.#log.error({ account: id, err: error }, 'could not record the account status');
      return;
    }
    if (announce && state.status && state.status !== before.state.status) this.emit(id, before.state.status);
  }

  emit(id: string, previous: AccountStatus): void {
    const account = this.#accounts.get(id);
    if (!account) return;
    this.#log.info({ account: id, from: previous, to: account.state.status }, 'status');
    const change = { account: this.view(account), previous };
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (error) {
        this.#log.error({ err: error }, 'a status listener failed');
      }
    }
  }

  view(account: AccountDefinition): AccountView {
    return accountView(account, this.persisted(account.id));
  }

  /**
   * The view as JSON, cached per account definition (each change makes a new one) and
   * persisted flag: listing a thousand accounts joins strings instead of serialising anew.
   */
  viewJson(account: AccountDefinition): string {
    const persisted = this.persisted(account.id);
    const cached = this.#json.get(account);
    if (cached?.persisted === persisted) return cached.json;
    const json = JSON.stringify(accountView(account, persisted));
    this.#json.set(account, { persisted, json });
    return json;
  }

  /** Whether the account's record is in the keychain (shown as `persisted`). */
  persisted(id: string): boolean {
    return this.#vault.isPersisted(id) && this.#vault.lastError?.code !== 'keychain_unavailable';
  }

  errorState(error: TokentrayError): AccountState['lastError'] {
    return { code: error.code, message: error.message.slice(0, 2000), at: this.#now().toISOString() };
  }

}

/** Statuses the start-up check does not re-check (refresh-engine.ts reevaluate): only a sign-in or a fix leaves them. */
function leftAloneAtStart(status: AccountStatus): boolean {
  return status === 'reauth_required' || status === 'misconfigured' || status === 'connecting';
}

function asCode(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}
