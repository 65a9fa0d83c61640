import { open, readFile, rename, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export interface AuditEntry {
  at: string;
  account: string;
  /** The client id, or `owner`. */
  client: string;
  route: string;
}

export const AUDIT_FILE = 'audit.jsonl';

/**
 * Writes start at most this often: under load one write call carries a hundred or more
 * entries (a profile of 50 tools fetching tokens had 2.4 µs a request in per-turn writes);
 * a lone request is still written in the next turn.
 */
const MIN_WRITE_GAP_MS = 10;

/** Ids, names and ISO times need no JSON escaping. */
const PLAIN = /^[A-Za-z0-9._:+-]*$/;

/** An entry's line: what JSON.stringify gives, built directly for plain values (the hot path's usual case). */
function lineOf(e: AuditEntry): string {
  return PLAIN.test(e.at) && PLAIN.test(e.account) && PLAIN.test(e.client) && PLAIN.test(e.route)
    ? `{"at":"${e.at}","account":"${e.account}","client":"${e.client}","route":"${e.route}"}\n`
    : `${JSON.stringify({ at: e.at, account: e.account, client: e.client, route: e.route })}\n`;
}

/**
 * Which tool got which account's token, when — never the token. One JSON line each, bounded:
 * the file holds at most half of `maxEntries`, then it becomes `audit.jsonl.1` (replacing the
 * one before) and a new file starts — a rename, never a read and rewrite of the whole log.
 *
 * It is on the token route's hot path, so it stays cheap: the file is opened once and kept
 * open, and entries recorded in the same turn of the event loop or while a write is running
 * go out together in the next one, and writes start at most every `MIN_WRITE_GAP_MS` (one
 * write call for many requests under load; each `record` still resolves once its entry is
 * written).
 */
export class AuditLog {
  readonly #path: string;
  readonly #previousPath: string;
  readonly #perFile: number;
  #count: number | null = null;
  #handle: FileHandle | null = null;
  #batch: AuditEntry[] = [];
  /** The write that has not started yet: new entries join it. */
  #collecting: Promise<void> | null = null;
  #queue: Promise<void> = Promise.resolve();
  /** performance.now() when the last write started. */
  #lastWriteAt = Number.NEGATIVE_INFINITY;
  /** The batch whose failure `note` reports already. */
  #noted: Promise<void> | null = null;
  readonly #listeners = new Set<(entry: AuditEntry) => void>();

  constructor(options: { home: string; maxEntries?: number }) {
    this.#path = join(options.home, AUDIT_FILE);
    this.#previousPath = `${this.#path}.1`;
    this.#perFile = Math.max(1, Math.floor((options.maxEntries ?? 5000) / 2));
  }

  record(entry: AuditEntry): Promise<void> {
    this.#batch.push(entry);
    if (!this.#collecting) {
      const run = async () => {
        this.#collecting = null;
        this.#lastWriteAt = performance.now();
        const batch = this.#batch;
        this.#batch = [];
        await this.#write(batch);
      };
      // The entries of one turn of the event loop (many requests, under load) and those recorded
      // while the previous write ran go out in one write: a profile of the token route under load
      // had 17 % of the broker's CPU in one file write per request.
      const wait = this.#lastWriteAt + MIN_WRITE_GAP_MS - performance.now();
      const turn = new Promise<void>((resolve) => (wait > 0 ? setTimeout(resolve, wait) : setImmediate(resolve)));
      this.#collecting = Promise.all([this.#queue, turn]).then(run, run);
      this.#queue = this.#collecting.catch(() => undefined);
    }
    return this.#collecting;
  }

  /**
   * `record` for the token route: no promise per entry (one per request was a measurable share
   * of the hot path); a write that fails is reported to `onError` once for its batch.
   */
  note(entry: AuditEntry, onError: (error: unknown) => void): void {
    const batch = this.record(entry);
    if (this.#noted !== batch) {
      this.#noted = batch;
      batch.catch(onError);
    }
  }

  /** Hears each entry once it is on disk (the window's activity log updates live). */
  onRecord(listener: (entry: AuditEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The newest entries first. */
  async recent(limit = 100): Promise<AuditEntry[]> {
    await this.#queue;
    const current = await this.#read(this.#path);
    const older = current.length >= limit ? [] : await this.#read(this.#previousPath);
    return [...older, ...current].slice(-limit).reverse();
  }

  async sizeBytes(): Promise<number> {
    const size = (path: string) => stat(path).then((s) => s.size, () => 0);
    return (await size(this.#path)) + (await size(this.#previousPath));
  }

  /** Closes the file once every entry recorded so far is written. */
  async close(): Promise<void> {
    await this.#queue;
    await this.#handle?.close();
    this.#handle = null;
    this.#count = null;
  }

  async #write(batch: AuditEntry[]): Promise<void> {
    const handle = this.#handle ?? (await this.#open());
    await handle.write(batch.map(lineOf).join(''));
    this.#count = (this.#count ?? 0) + batch.length;
    for (const entry of batch) {
      for (const listener of this.#listeners) {
        try {
          listener(entry);
        } catch {
          // a listener's failure must never fail the token request that was recorded
        }
      }
    }
    if (this.#count >= this.#perFile) {
      await handle.close();
      this.#handle = null;
      await rename(this.#path, this.#previousPath);
      this.#count = 0;
    }
  }

  async #open(): Promise<FileHandle> {
    const text = await readFile(this.#path, 'utf8').catch(() => '');
    this.#count = text.length === 0 ? 0 : text.split('\n').filter((line) => line.trim()).length;
    const handle = await open(this.#path, 'a', 0o600);
    // A crash mid-line leaves a torn last line: start ours on a fresh line.
    if (text.length > 0 && !text.endsWith('\n')) await handle.write('\n');
    this.#handle = handle;
    return handle;
  }

  async #read(path: string): Promise<AuditEntry[]> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return [];
    }
    const entries: AuditEntry[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as AuditEntry;
        if (typeof e.at === 'string' && typeof e.account === 'string') entries.push({ at: e.at, account: e.account, client: String(e.client), route: String(e.route) });
      } catch {
        // a torn last line after a crash: skip it
      }
    }
    return entries;
  }
}
