import { TokentrayError } from '../../../shared/errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Redactor } from '../log/redactor.ts';
import { RecordStore } from './record-store.ts';
import type { SecretStore } from './secret-store.ts';
import { parseRecord, secretsOf, serialiseRecord, tokenRecordSchema, type TokenRecord, type TokenRecordInput } from './token-record.ts';
import { JOURNAL_ITEM } from './keychain-protocol.ts';
import { journalSchema, type Journal, type JournalEntry } from './refresh-journal.ts';
import { systemNow } from '../clock.ts';
import { processAlive as alive } from '../process-alive.ts';

export interface VaultOptions {
  store: SecretStore;
  logger: Logger;
  redactor: Redactor;
  now?: () => Date;
}

export interface VaultStatus {
  /** False while any record lives only in memory (no keychain, or a failed write). */
  persisted: boolean;
  keychain: string;
  lastError: TokentrayError | null;
  pending: string[];
}

/** Turns a journalled answer into the record to store, or null when it no longer applies (journal-recovery.ts). */
export type ApplyJournalEntry = (record: TokenRecord, entry: JournalEntry) => TokenRecordInput | null;

export interface WriteResult {
  record: TokenRecord;
  persisted: boolean;
}

/**
 * Token records per account. Memory is the working copy; the keychain is the durable one.
 * When the keychain fails, the new record stays in memory (never the old one, never a file),
 * the account is reported as not persisted, and `retryPending()` writes it later.
 */
export class Vault {
  readonly #records: RecordStore;
  readonly #logger: Logger;
  readonly #redactor: Redactor;
  readonly #now: () => Date;
  readonly #memory = new Map<string, TokenRecord>();
  readonly #pendingWrites = new Set<string>();
  readonly #pendingDeletes = new Set<string>();
  readonly #queues = new Map<string, Promise<unknown>>();
  /** The generation the keychain holds per account, where we read or wrote it (a write then needs no read first). */
  readonly #storedGen = new Map<string, number>();
  #lastError: TokentrayError | null = null;
  /** The refresh journal as probe() found it (null: there is none; undefined: not known), until recover() applies it. */
  #journal: string | null | undefined = undefined;
  /** Set by recover() until the journal has been applied once (see there). */
  #recovery: { apply: ApplyJournalEntry; waitMs: number; running: Promise<string[]> | null } | null = null;

  constructor(options: VaultOptions) {
    this.#records = new RecordStore(options.store);
    this.#logger = options.logger;
    this.#redactor = options.redactor;
    this.#now = options.now ?? systemNow;
  }

  status(): VaultStatus {
    return {
      persisted: this.#pendingWrites.size === 0 && this.#pendingDeletes.size === 0 && this.#lastError?.code !== 'keychain_unavailable',
      keychain: this.#records.store.label,
      lastError: this.#lastError,
      pending: [...this.#pendingWrites, ...this.#pendingDeletes],
    };
  }

  /** The last keychain failure, or null (cheap: per-account views ask for it). */
  get lastError(): TokentrayError | null {
    return this.#lastError;
  }

  /** Asks the keychain once (reading the refresh journal, which is normally absent), so its state is known at start. */
  async probe(): Promise<VaultStatus> {
    this.#journal = await this.#keychain(() => this.#records.store.get(JOURNAL_ITEM)).catch(() => undefined);
    return this.status();
  }

  /** See SecretStore.fetchFor: null when the keychain cannot send requests itself. */
  refreshFetch(accountId: string, presented: string, timeoutMs: number): typeof fetch | null {
    return this.#records.store.fetchFor?.({ account: accountId, presented, timeoutMs }) ?? null;
  }

  /**
   * After a crash: the refresh answers the keychain process journalled because the broker died
   * before it wrote them (refresh-journal.ts) are applied before anything reads a record, so the
   * first refresh presents the newest refresh token, never a spent one. An entry applies only
   * while the account's record still holds the token its request presented. While the process
   * that writes the journal still runs (a request in flight when the broker died) this waits
   * for it, up to `waitMs`. Resolves with the accounts it brought up to date.
   *
   * Until that has been done once, it is a gate: a journal the keychain could not read (slow,
   * locked, away) is never taken for "no journal". Every read of a record that is not in memory
   * first tries again, and fails as the keychain does until the journal is applied.
   */
  recover(apply: ApplyJournalEntry, waitMs = 30_000): Promise<string[]> {
    this.#recovery = { apply, waitMs, running: null };
    return this.#recoverNow();
  }

  /** Whether a crash's journal is still to be applied (see recover). */
  get recovering(): boolean {
    return this.#recovery !== null;
  }

  #recoverNow(): Promise<string[]> {
    const recovery = this.#recovery;
    if (!recovery) return Promise.resolve([]);
    recovery.running ??= this.#recoverOnce(recovery.apply, recovery.waitMs).then(
      (recovered) => {
        if (this.#recovery === recovery) this.#recovery = null;
        return recovered;
      },
      (error: unknown) => {
        recovery.running = null;
        throw error;
      },
    );
    return recovery.running;
  }

  async #recoverOnce(apply: ApplyJournalEntry, waitMs: number): Promise<string[]> {
    const readJournal = () => this.#keychain(() => this.#records.store.get(JOURNAL_ITEM));
    let text = this.#journal === undefined ? await readJournal() : this.#journal;
    this.#journal = undefined;
    const until = performance.now() + waitMs;
    let journal: Journal | null = null;
    for (;;) {
      if (text === null) return [];
      const parsed = journalSchema.safeParse(safeJson(text));
      if (!parsed.success) {
        this.#logger.error('the refresh journal in the keychain is damaged: it is removed');
        break;
      }
      journal = parsed.data;
      if (journal.done || !alive(journal.pid) || performance.now() > until) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
      text = await readJournal(); // a failure fails this attempt: the journal stays for the next
    }
    const recovered: string[] = [];
    for (const [accountId, entry] of Object.entries(journal?.entries ?? {})) {
      const record = await this.#readStored(accountId); // a failure leaves the journal for the next attempt
      const input = record ? apply(record, entry) : null;
      if (!input) continue;
      const { persisted } = await this.write(accountId, input);
      // Memory holds the newest record now; the journal stays in the keychain for the next start.
      if (!persisted) return recovered;
      recovered.push(accountId);
    }
    await this.#keychain(() => this.#records.store.delete(JOURNAL_ITEM)).catch(() => undefined);
    if (recovered.length > 0) this.#logger.warn({ accounts: recovered }, 'applied refresh answers that a crashed broker received but had not stored');
    return recovered;
  }

  /** Before exit: queued work finishes and no keychain call is left open (see SecretStore.settle). */
  async settle(maxMs = 2_000): Promise<void> {
    const started = performance.now();
    await Promise.race([Promise.allSettled([...this.#queues.values()]), new Promise((resolve) => setTimeout(resolve, maxMs).unref())]);
    await this.#records.store.settle?.(Math.max(0, maxMs - (performance.now() - started)));
  }

  isPersisted(accountId: string): boolean {
    return !this.#pendingWrites.has(accountId) && this.#records.store.persistent;
  }

  /** The account's record, or null. Throws `keychain_unavailable` if only the keychain could tell. */
  /** The record held in memory, if any, without waiting for anything (see read). */
  peek(accountId: string): TokenRecord | undefined {
    return this.#pendingDeletes.has(accountId) ? undefined : this.#memory.get(accountId);
  }

  read(accountId: string): Promise<TokenRecord | null> {
    // Tokens held in memory never wait for the keychain (REQUIREMENTS 21): not even behind a
    // write of the same account that the keychain is slow to answer. Memory is set before every
    // write is sent, so it always holds the newest record.
    const held = this.#pendingDeletes.has(accountId) ? undefined : this.#memory.get(accountId);
    if (held) return Promise.resolve(held);
    // What the keychain holds may be older than a crash's journal: that goes first (recover).
    if (this.#recovery) return this.#recoverNow().then(() => this.read(accountId));
    return this.#readStored(accountId);
  }

  #readStored(accountId: string): Promise<TokenRecord | null> {
    return this.#serial(accountId, async () => {
      if (this.#pendingDeletes.has(accountId)) return null;
      const cached = this.#memory.get(accountId);
      if (cached) return cached;
      const stored = await this.#keychain(() => this.#records.read(accountId));
      if (!stored) return null;
      if (stored.inline) this.#storedGen.set(accountId, stored.gen); // chunks to sweep: the next write reads the header first
      const record = parseRecord(stored.payload, accountId);
      this.#learn(accountId, record);
      this.#memory.set(accountId, record);
      return record;
    });
  }

  /** Writes a new generation of the account's record; never throws for a keychain failure. */
  write(accountId: string, input: TokenRecordInput): Promise<WriteResult> {
    return this.#serial(accountId, async () => {
      this.#pendingDeletes.delete(accountId);
      const base = tokenRecordSchema.parse({ ...input, v: 1, generation: 0, updatedAt: this.#now().toISOString() });
      this.#learn(accountId, base);
      const memoryGen = this.#memory.get(accountId)?.generation ?? 0;
      // Memory first: whatever the keychain does, the newest tokens are never lost.
      this.#memory.set(accountId, { ...base, generation: memoryGen + 1 });
      const persisted = await this.#persist(accountId);
      return { record: this.#memory.get(accountId)!, persisted };
    });
  }

  /** Deletes every trace of the account's record. Throws if the keychain cannot confirm it. */
  delete(accountId: string): Promise<void> {
    return this.#serial(accountId, async () => {
      const record = this.#memory.get(accountId);
      this.#memory.delete(accountId);
      this.#pendingWrites.delete(accountId);
      this.#pendingDeletes.add(accountId);
      this.#storedGen.delete(accountId);
      await this.#keychain(() => this.#records.delete(accountId));
      this.#pendingDeletes.delete(accountId);
      if (record) this.#redactor.forgetOwner(accountId);
    });
  }

  /**
   * Retries every write and delete the keychain refused earlier, in turn, stopping at the
   * first failure: the keychain that refused one refuses the rest, so a keychain that stays
   * away costs one call per round however many records wait. `written` hears of each account
   * whose record is in the keychain again. Resolves with how many records still wait.
   */
  async retryPending(written?: (accountId: string) => void): Promise<number> {
    for (const accountId of this.#pendingWrites) {
      if (!(await this.#serial(accountId, () => this.#persist(accountId)))) return this.pendingCount;
      written?.(accountId);
    }
    for (const accountId of this.#pendingDeletes) {
      const deleted = await this.#serial(accountId, () => this.#keychain(() => this.#records.delete(accountId)).then(
        () => { this.#pendingDeletes.delete(accountId); return true; },
        () => false,
      ));
      if (!deleted) break;
    }
    return this.pendingCount;
  }

  /** Records that live in memory only, or deletions not yet confirmed (O(1)). */
  get pendingCount(): number {
    return this.#pendingWrites.size + this.#pendingDeletes.size;
  }

  /** True while the keychain is known to be away and its return will be announced (onKeychainReturn). */
  get keychainWatched(): boolean {
    return this.#records.store.watchingForReturn === true;
  }

  /** `listener` runs when the keychain may be back; a store that cannot tell never calls it. */
  onKeychainReturn(listener: () => void): () => void {
    return this.#records.store.onReturn?.(listener) ?? (() => undefined);
  }

  async #persist(accountId: string): Promise<boolean> {
    const current = this.#memory.get(accountId);
    if (!current) {
      this.#pendingWrites.delete(accountId); // nothing left to write
      return true;
    }
    const known = this.#storedGen.get(accountId);
    // Unknown again until this write is confirmed: a write that failed half-way leaves it unsure.
    this.#storedGen.delete(accountId);
    let written = 0;
    try {
      await this.#keychain(() =>
        this.#records.write(
          accountId,
          (gen) => {
            written = gen;
            const record = { ...current, generation: gen };
            this.#memory.set(accountId, record);
            return serialiseRecord(record);
          },
          known === undefined ? undefined : { gen: known },
        ),
      );
      this.#storedGen.set(accountId, written);
      this.#pendingWrites.delete(accountId);
      return true;
    } catch (error) {
      const first = !this.#pendingWrites.has(accountId);
      this.#pendingWrites.add(accountId);
      // Once per account and outage, not once per retry: a keychain that stays away must not fill the log.
      if (first) this.#logger.warn({ account: accountId, err: error }, 'keychain write failed: the new tokens are kept in memory only until a retry succeeds');
      else this.#logger.debug({ account: accountId, err: error }, 'keychain write retry failed');
      return false;
    }
  }

  async #keychain<T>(op: () => Promise<T>): Promise<T> {
    try {
      const result = await op();
      this.#lastError = null;
      return result;
    } catch (error) {
      const failure = error instanceof TokentrayError ? error : new TokentrayError('keychain_error', 'keychain call failed', { cause: error, retryable: true });
      this.#lastError = failure;
      throw failure;
    }
  }

  #learn(accountId: string, record: TokenRecord): void {
    this.#redactor.setOwnedSecrets(accountId, secretsOf(record));
  }

  /** One operation at a time per account, in call order. */
  #serial<T>(accountId: string, op: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(accountId) ?? Promise.resolve();
    const next = previous.then(op, op);
    const settled = next.catch(() => undefined);
    this.#queues.set(accountId, settled);
    void settled.then(() => {
      if (this.#queues.get(accountId) === settled) this.#queues.delete(accountId);
    });
    return next;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
