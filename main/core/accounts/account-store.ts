import { readFile, rename, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { accountDefinitionSchema, accountsFileSchema, type AccountDefinition, type AccountDefinitionInput, type AccountState } from '../../../shared/account.ts';
import { isAccountId } from '../../../shared/account-id.ts';
import { TokentrayError } from '../../../shared/errors.ts';
import { writeFileAtomic } from '../files/atomic-file.ts';
import type { Logger } from '../log/logger.ts';
import { systemNow } from '../clock.ts';

export const ACCOUNTS_FILE = 'accounts.json';

/**
 * A routine status change (see noteState) reaches the disk within this, or with the next
 * change that is written at once, or when the broker stops.
 */
export const STATE_WRITE_DELAY_MS = 60_000;

export interface AccountStoreOptions {
  home: string;
  logger: Logger;
  now?: () => Date;
  /** How long a routine status change may wait for the disk (default STATE_WRITE_DELAY_MS). */
  stateWriteDelayMs?: number;
}

export interface LoadResult {
  accounts: AccountDefinition[];
  /** Set when a corrupt file was found: where it was moved, and why. */
  recovered: { movedTo: string; error: TokentrayError } | null;
}

/**
 * Account definitions and their last known status in `accounts.json` — never a secret (the
 * schema is strict, so a token field cannot even be written). Writes are atomic and serialised;
 * a corrupt file is moved aside, reported, and never silently overwritten.
 */
export class AccountStore {
  readonly #path: string;
  readonly #home: string;
  readonly #logger: Logger;
  readonly #now: () => Date;
  #accounts = new Map<string, AccountDefinition>();
  #loaded = false;
  #pending: Array<{ id: string | null; change: () => unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void }> = [];
  #writing: Promise<void> | null = null;
  readonly #stateWriteDelayMs: number;
  /** Counts routine status changes made in memory (noteState), and how many of them are on disk. */
  #stateVersion = 0;
  #writtenStateVersion = 0;
  #stateTimer: NodeJS.Timeout | null = null;
  /** The ids in listing order: changes only when an account is added or removed, not on each status change. */
  #sortedIds: string[] | null = null;

  constructor(options: AccountStoreOptions) {
    this.#home = options.home;
    this.#path = join(options.home, ACCOUNTS_FILE);
    this.#logger = options.logger;
    this.#now = options.now ?? systemNow;
    this.#stateWriteDelayMs = options.stateWriteDelayMs ?? STATE_WRITE_DELAY_MS;
  }

  get path(): string {
    return this.#path;
  }

  /**
   * Reads the file. A missing file is an empty store. A corrupt one (empty, truncated, not
   * JSON, wrong shape) is renamed to `accounts.json.corrupt-<timestamp>` and reported through
   * `recovered`; the store then starts empty and the next write creates a fresh file.
   */
  async load(): Promise<LoadResult> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#accounts = new Map();
        this.#sortedIds = null;
        this.#loaded = true;
        return { accounts: [], recovered: null };
      }
      throw new TokentrayError('store_io', `cannot read ${this.#path}: ${(error as Error).message}`, { cause: error });
    }
    const problem = parseAccountsFile(text);
    if (problem.ok) {
      this.#accounts = new Map(problem.file.accounts.map((a) => [a.id, a]));
      this.#sortedIds = null;
      this.#loaded = true;
      return { accounts: this.list(), recovered: null };
    }
    const stamp = this.#now().toISOString().replace(/[:.]/g, '-');
    const movedTo = `${this.#path}.corrupt-${stamp}`;
    await rename(this.#path, movedTo);
    const error = new TokentrayError('store_corrupt', `${this.#path} was unreadable (${problem.reason}); it was moved to ${movedTo} and Tokentray starts with no accounts. Nothing was deleted: restore it by hand if it can be repaired.`);
    this.#logger.error({ movedTo, reason: problem.reason }, 'accounts.json is corrupt and was moved aside');
    this.#accounts = new Map();
    this.#sortedIds = null;
    this.#loaded = true;
    return { accounts: [], recovered: { movedTo, error } };
  }

  list(): AccountDefinition[] {
    this.#assertLoaded();
    this.#sortedIds ??= [...this.#accounts.keys()].sort((a, b) => a.localeCompare(b));
    return this.#sortedIds.map((id) => this.#accounts.get(id)!);
  }

  get(id: string): AccountDefinition | undefined {
    this.#assertLoaded();
    return this.#accounts.get(id);
  }

  require(id: string): AccountDefinition {
    const account = this.get(id);
    if (!account) throw new TokentrayError('account_not_found', `no account with id "${id}"`);
    return account;
  }

  async add(input: AccountDefinitionInput): Promise<AccountDefinition> {
    this.#assertLoaded();
    if (!isAccountId(input.id)) {
      throw new TokentrayError('invalid_account_id', `"${input.id}" is not a valid id: use 1-64 characters a-z, 0-9, ".", "_" or "-", starting with a letter or digit`);
    }
    if (this.#accounts.has(input.id)) throw new TokentrayError('account_exists', `an account with id "${input.id}" exists already`);
    const account = parseAccount(input);
    return this.#mutate(account.id, () => {
      if (this.#accounts.has(account.id)) throw new TokentrayError('account_exists', `an account with id "${account.id}" exists already`);
      this.#accounts.set(account.id, account);
      return account;
    });
  }

  async update(id: string, change: (current: AccountDefinition) => AccountDefinitionInput): Promise<AccountDefinition> {
    return this.#mutate(id, () => {
      const current = this.require(id);
      const next = parseAccount({ ...change(current), id });
      this.#accounts.set(id, next);
      return next;
    });
  }

  /** Changes an account's state and resolves once the file holding it is on disk. */
  async setState(id: string, state: Partial<AccountState>): Promise<AccountDefinition> {
    return this.update(id, (current) => ({ ...current, state: { ...current.state, ...state } }));
  }

  /**
   * A routine status change (a refresh's times, valid ⇄ refreshing ⇄ retrying): applied now,
   * written within `stateWriteDelayMs`, with the next change written at once, or by flush().
   * The file holds every definition, so writing it for each refresh rewrote and fsynced 7 MB
   * per refresh at 10,000 accounts (and 700 KB at 1,000). A crash loses at most that delay of
   * routine status, which the next start works out again from the tokens.
   */
  noteState(id: string, state: Partial<AccountState>): AccountDefinition {
    const current = this.require(id);
    const next = parseAccount({ ...current, state: { ...current.state, ...state } });
    this.#accounts.set(id, next);
    this.#stateVersion++;
    this.#scheduleStateWrite();
    return next;
  }

  /** Whether a routine status change is not on disk yet. */
  get stateWaiting(): boolean {
    return this.#stateVersion > this.#writtenStateVersion;
  }

  /** Resolves once every write queued so far, and every routine status change, has landed (for a clean shutdown). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
    if (this.stateWaiting) await this.#writeState();
  }

  async remove(id: string): Promise<boolean> {
    return this.#mutate(id, () => this.#accounts.delete(id));
  }

  async #writeState(): Promise<void> {
    if (this.#stateTimer) clearTimeout(this.#stateTimer);
    this.#stateTimer = null;
    if (!this.stateWaiting) return;
    // A write with no change of its own: the file is written from memory, routine status included.
    await this.#mutate(null, () => undefined).catch((error: unknown) => {
      this.#logger.error({ err: error }, 'could not write the accounts\' status; trying again later');
      this.#scheduleStateWrite();
    });
  }

  /** One timer for the routine status changes not on disk yet (it does not keep the process alive). */
  #scheduleStateWrite(): void {
    if (this.#stateTimer) return;
    this.#stateTimer = setTimeout(() => {
      this.#stateTimer = null;
      void this.#writeState();
    }, this.#stateWriteDelayMs);
    this.#stateTimer.unref();
  }

  /**
   * Applies a change in memory and writes the file; on a failed write the change is undone.
   * Changes that arrive while a write is running are applied together and written once after
   * it (group commit): with a thousand accounts refreshing, the file is written as often as
   * the disk allows, not once per status change. Each change still resolves only once the
   * file holding it is on disk.
   */
  #mutate<T>(id: string | null, change: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ id, change, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#writing) this.#writing = this.#drain().finally(() => { this.#writing = null; });
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      // What the batch's accounts were, to undo exactly its changes if the write fails (routine
      // status noted meanwhile for other accounts stays).
      const before = new Map<string, AccountDefinition | undefined>();
      const size = this.#accounts.size;
      const applied: Array<{ resolve: (value: unknown) => void; result: unknown }> = [];
      for (const item of batch) {
        if (item.id !== null && !before.has(item.id)) before.set(item.id, this.#accounts.get(item.id));
        try {
          applied.push({ resolve: item.resolve, result: item.change() });
        } catch (error) {
          item.reject(error); // a change that refuses itself (exists already, not found) fails alone
        }
      }
      if (this.#accounts.size !== size || [...before].some(([id, was]) => (was === undefined) !== !this.#accounts.has(id))) this.#sortedIds = null;
      if (applied.length === 0) continue;
      const stateVersion = this.#stateVersion;
      try {
        await mkdir(this.#home, { recursive: true, mode: 0o700 });
        // Every definition was parsed when it was changed: the file is written from them as is.
        await writeFileAtomic(this.#path, accountsFileText(this.list()));
      } catch (error) {
        for (const [id, was] of before) {
          if (was) this.#accounts.set(id, was);
          else this.#accounts.delete(id);
        }
        this.#sortedIds = null;
        const failure = new TokentrayError('store_io', `cannot write ${this.#path}: ${(error as Error).message}`, { cause: error });
        for (const item of batch) item.reject(failure);
        continue;
      }
      this.#writtenStateVersion = Math.max(this.#writtenStateVersion, stateVersion);
      for (const { resolve, result } of applied) resolve(result);
    }
  }

  #assertLoaded(): void {
    if (!this.#loaded) throw new TokentrayError('internal', 'AccountStore.load() must run before the store is used');
  }
}

/** Each definition's lines in the file, indented for its place: definitions are replaced, never changed, so one is serialised once. */
const FRAGMENTS = new WeakMap<AccountDefinition, string>();

function fragment(account: AccountDefinition): string {
  let text = FRAGMENTS.get(account);
  if (text === undefined) {
    // JSON escapes newlines inside strings, so every newline here is between lines of the layout.
    text = `    ${JSON.stringify(account, null, 2).replaceAll('\n', '\n    ')}`;
    FRAGMENTS.set(account, text);
  }
  return text;
}

/**
 * accounts.json's text: exactly `JSON.stringify({ version: 1, accounts }, null, 2)` and a
 * newline, from cached fragments — with 10,000 accounts a status change re-serialised ≈ 7 MB;
 * now only the definitions that changed are, and the rest is joined.
 */
export function accountsFileText(accounts: AccountDefinition[]): string {
  if (accounts.length === 0) return '{\n  "version": 1,\n  "accounts": []\n}\n';
  return `{\n  "version": 1,\n  "accounts": [\n${accounts.map(fragment).join(',\n')}\n  ]\n}\n`;
}

function parseAccount(input: AccountDefinitionInput): AccountDefinition {
  const parsed = accountDefinitionSchema.safeParse(input);
  if (!parsed.success) throw new TokentrayError('invalid_account', `invalid account: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

function parseAccountsFile(text: string): { ok: true; file: z.infer<typeof accountsFileSchema> } | { ok: false; reason: string } {
  if (text.trim() === '') return { ok: false, reason: 'the file is empty' };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not valid JSON: ${(error as Error).message}` };
  }
  const parsed = accountsFileSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: `unexpected content: ${z.prettifyError(parsed.error).split('\n').slice(0, 4).join('; ')}` };
  const ids = new Set<string>();
  for (const account of parsed.data.accounts) {
    if (ids.has(account.id)) return { ok: false, reason: `the id "${account.id}" appears twice` };
    ids.add(account.id);
  }
  return { ok: true, file: parsed.data };
}
