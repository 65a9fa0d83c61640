import { appendFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomic-file.ts';

export interface AuditEntry {
  at: string;
  account: string;
  /** The client id, or `owner`. */
  client: string;
  route: string;
}

export const AUDIT_FILE = 'audit.jsonl';

/**
 * Which tool got which account's token, when — never the token. One JSON line each, bounded:
 * past `maxEntries` the oldest half is dropped (an atomic rewrite).
 */
export class AuditLog {
  readonly #path: string;
  readonly #maxEntries: number;
  #count: number | null = null;
  #queue: Promise<void> = Promise.resolve();
  readonly #listeners = new Set<(entry: AuditEntry) => void>();

  constructor(options: { home: string; maxEntries?: number }) {
    this.#path = join(options.home, AUDIT_FILE);
    this.#maxEntries = options.maxEntries ?? 5000;
  }

  record(entry: AuditEntry): Promise<void> {
    const run = async () => {
      if (this.#count === null) {
        this.#count = (await this.#read()).length;
        // A crash mid-line leaves a torn last line: start ours on a fresh line.
        const text = await readFile(this.#path, 'utf8').catch(() => '');
        if (text.length > 0 && !text.endsWith('\n')) await appendFile(this.#path, '\n');
      }
      await appendFile(this.#path, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
      this.#count++;
      for (const listener of this.#listeners) {
        try {
          listener(entry);
        } catch {
          // a listener's failure must never fail the token request that was recorded
        }
      }
      if (this.#count > this.#maxEntries) {
        const keep = (await this.#read()).slice(-Math.floor(this.#maxEntries / 2));
        await writeFileAtomic(this.#path, keep.map((e) => JSON.stringify(e)).join('\n') + '\n');
        this.#count = keep.length;
      }
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Hears each entry once it is on disk (the window's activity log updates live). */
  onRecord(listener: (entry: AuditEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The newest entries first. */
  async recent(limit = 100): Promise<AuditEntry[]> {
    await this.#queue;
    return (await this.#read()).slice(-limit).reverse();
  }

  async sizeBytes(): Promise<number> {
    return stat(this.#path).then((s) => s.size, () => 0);
  }

  async #read(): Promise<AuditEntry[]> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
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
