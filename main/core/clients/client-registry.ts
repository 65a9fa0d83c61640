import type { RecoveredFile } from '../../../shared/broker-api.ts';
import { randomBytes } from 'node:crypto';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { TokentrayError } from '../../../shared/errors.ts';
import { ACCOUNT_ID_PATTERN } from '../../../shared/account-id.ts';
import { writeFileAtomic } from '../files/atomic-file.ts';
import { PersistedState } from '../files/persisted-state.ts';
import type { Logger } from '../log/logger.ts';
import { hashKey, newKey, sameHash } from './keys.ts';
import { systemNow } from '../clock.ts';

export type ClientStatus = 'pending' | 'approved' | 'denied' | 'revoked';

export interface ClientView {
  id: string;
  name: string;
  status: ClientStatus;
  accounts: string[] | null;
  createdAt: string;
  lastUsedAt: string | null;
}

const storedSchema = z.strictObject({
  id: z.string().regex(/^c_[a-z0-9]{12}$/),
  name: z.string().max(100),
  status: z.enum(['approved', 'denied', 'revoked']),
  accounts: z.array(z.string().regex(ACCOUNT_ID_PATTERN)).nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  /** SHA-256 of the key, hex: the key itself is shown once and never stored. */
  keyHash: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
});
const fileSchema = z.strictObject({ version: z.literal(1), clients: z.array(storedSchema) });
type Stored = z.infer<typeof storedSchema>;

interface Pending {
  view: ClientView;
  settle: (outcome: { key: string } | { denied: true }) => void;
}

export const CLIENTS_FILE = 'clients.json';
const MAX_PENDING = 20;

/**
 * Local tools that hold a key. A tool asks (`request`), a person approves or denies; the key is
 * returned once and only its hash is kept. Keys can be limited to accounts and revoked.
 */
export class ClientRegistry {
  readonly #path: string;
  readonly #logger: Logger;
  readonly #now: () => Date;
  readonly #state: PersistedState<Stored[]>;
  readonly #pending = new Map<string, Pending>();
  #lastUseWrite = 0;
  /** Last uses not yet written (the list shows them at once). */
  readonly #lastUse = new Map<string, string>();
  readonly #digests = new WeakMap<Stored, Buffer>();
  readonly #listeners = new Set<() => void>();

  constructor(options: { home: string; logger: Logger; now?: () => Date }) {
    this.#path = join(options.home, CLIENTS_FILE);
    this.#logger = options.logger;
    this.#now = options.now ?? systemNow;
    this.#state = new PersistedState<Stored[]>([], async (clients) => {
      await writeFileAtomic(this.#path, `${JSON.stringify({ version: 1, clients }, null, 2)}\n`);
    });
  }

  get #clients(): Stored[] {
    return this.#state.value;
  }

  /** One change of the stored clients, applied to what the previous change left, then announced. */
  async #mutate<R>(change: (current: Stored[]) => { next: Stored[]; result: R }): Promise<R> {
    const result = await this.#state.mutate(change);
    this.#changed();
    return result;
  }

  /** Reads clients.json; a damaged one is moved aside and reported (the answer says where). */
  async load(): Promise<RecoveredFile | null> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new TokentrayError('store_io', `cannot read ${this.#path}: ${(error as Error).message}`, { cause: error });
    }
    const parsed = fileSchema.safeParse(safeJson(text));
    if (!parsed.success) {
      const movedTo = `${this.#path}.corrupt-${this.#now().toISOString().replace(/[:.]/g, '-')}`;
      await rename(this.#path, movedTo);
      this.#logger.error({ movedTo }, 'clients.json was corrupt and was moved aside: every local tool must ask for a key again');
      return { file: 'clients.json', movedTo, message: 'clients.json was damaged and was moved aside: every local tool must ask for a key again (the old keys no longer work).' };
    }
    this.#state.replace(parsed.data.clients);
    return null;
  }

  /** Hears every change of the list: a new request, a decision, a revocation, a last use written. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch (error) {
        this.#logger.error({ err: error }, 'a clients listener failed');
      }
    }
  }

  list(): ClientView[] {
    const stored = this.#clients.map(({ keyHash: _k, ...view }) => ({ ...view, lastUsedAt: this.#lastUse.get(view.id) ?? view.lastUsedAt }));
    return [...stored, ...[...this.#pending.values()].map((p) => p.view)].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** A tool asks for a key. Resolves when a person decides, or after `timeoutMs`. */
  request(name: string, accounts: string[] | undefined, timeoutMs: number, signal: AbortSignal): Promise<{ id: string; key: string }> {
    if (this.#pending.size >= MAX_PENDING) throw new TokentrayError('bad_request', 'too many requests are waiting for approval; try again later');
    const id = `c_${randomBytes(9).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 12)}`;
    const view: ClientView = { id, name, status: 'pending', accounts: accounts ?? null, createdAt: this.#now().toISOString(), lastUsedAt: null };
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.#pending.delete(id);
        this.#changed();
      };
      const timer = setTimeout(() => {
        finish();
        reject(new TokentrayError('approval_timeout', `nobody approved "${name}" within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      const onAbort = () => {
        finish();
        reject(new TokentrayError('bad_request', 'the request was abandoned'));
      };
      signal.addEventListener('abort', onAbort);
      this.#pending.set(id, {
        view,
        settle: (outcome) => {
          finish();
          if ('key' in outcome) resolve({ id, key: outcome.key });
          else reject(new TokentrayError('client_denied', `the request of "${name}" was denied`));
        },
      });
      this.#logger.info({ client: id, name }, 'a local tool asks for a key');
      this.#changed();
    });
  }

  async approve(id: string, accounts?: string[]): Promise<ClientView> {
    const pending = this.#pending.get(id);
    if (!pending) throw new TokentrayError('not_found', `no pending request "${id}"`);
    const key = newKey('ttk_');
    const stored: Stored = { ...pending.view, status: 'approved', accounts: accounts && accounts.length > 0 ? accounts : pending.view.accounts, keyHash: hashKey(key).toString('hex') };
    await this.#mutate((current) => ({ next: [...current.filter((c) => c.id !== id), stored], result: undefined }));
    pending.settle({ key });
    const { keyHash: _k, ...view } = stored;
    return view;
  }

  async deny(id: string): Promise<ClientView> {
    const pending = this.#pending.get(id);
    if (!pending) throw new TokentrayError('not_found', `no pending request "${id}"`);
    const stored: Stored = { ...pending.view, status: 'denied', keyHash: null };
    await this.#mutate((current) => ({ next: [...current.filter((c) => c.id !== id), stored], result: undefined }));
    pending.settle({ denied: true });
    return { ...pending.view, status: 'denied' };
  }

  async revoke(id: string): Promise<ClientView> {
    const found = this.#clients.find((c) => c.id === id);
    if (!found) {
      if (this.#pending.has(id)) return this.deny(id);
      throw new TokentrayError('not_found', `no client "${id}"`);
    }
    return this.#mutate((current) => {
      const next = current.map((c) => (c.id === id ? { ...c, status: 'revoked' as const, keyHash: null } : c));
      const { keyHash: _k, ...view } = next.find((c) => c.id === id)!;
      return { next, result: view };
    });
  }

  /** The approved client holding this key, or null. Compares every hash in constant time. */
  authenticate(keyDigest: Buffer): ClientView | null {
    let match: Stored | null = null;
    for (const client of this.#clients) {
      if (client.status === 'approved' && client.keyHash && sameHash(this.#digestOf(client), keyDigest)) match = client;
    }
    if (!match) return null;
    const usedAt = this.#now().toISOString();
    const id = match.id;
    this.#lastUse.set(id, usedAt);
    // Last use is worth recording, not worth a disk write on every token request. It is a
    // change like any other: applied to the clients as they are then (a revocation queued
    // meanwhile stays revoked).
    if (this.#now().getTime() - this.#lastUseWrite > 10_000) {
      this.#lastUseWrite = this.#now().getTime();
      void this.#mutate((current) => ({ next: current.map((c) => (this.#lastUse.has(c.id) ? { ...c, lastUsedAt: this.#lastUse.get(c.id)! } : c)), result: undefined }))
        .then(() => this.#lastUse.clear())
        .catch(() => undefined);
    }
    const { keyHash: _k, ...view } = match;
    return { ...view, lastUsedAt: usedAt };
  }

  /** A client's key digest as bytes, decoded once per stored client (a change replaces the object). */
  #digestOf(client: Stored): Buffer {
    let digest = this.#digests.get(client);
    if (!digest) {
      digest = Buffer.from(client.keyHash ?? '', 'hex');
      this.#digests.set(client, digest);
    }
    return digest;
  }

  async flush(): Promise<void> {
    await this.#mutate((current) => ({ next: current.map((c) => (this.#lastUse.has(c.id) ? { ...c, lastUsedAt: this.#lastUse.get(c.id)! } : c)), result: undefined }));
    this.#lastUse.clear();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
