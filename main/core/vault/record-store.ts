import { createHash } from 'node:crypto';
import { z } from 'zod';
import { TokentrayError } from '../../../shared/errors.ts';
import type { SecretStore } from './secret-store.ts';

/**
 * Stores one record per account as one atomic unit, even where the keychain caps an item's
 * size. A record that fits goes inline in the header item (`<id>`). A larger one is split into
 * chunks (`<id>#<generation>.<index>`) written under a new generation; then the header flips to
 * them in one write; only then are the old chunks deleted. Readers check a SHA-256 over the
 * whole payload. A crash at any point leaves the old or the new record, never a mix.
 */
const headerSchema = z.union([
  z.strictObject({ tt: z.literal(1), gen: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/), inline: z.string() }),
  z.strictObject({
    tt: z.literal(1),
    gen: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: z.number().int().nonnegative(),
    chunks: z.number().int().positive().max(10_000),
  }),
]);
type Header = z.infer<typeof headerSchema>;

/** How many older or newer generations a write or delete sweeps for leftovers of a crash. */
const SWEEP_GENERATIONS = 2;

export function chunkName(accountId: string, gen: number, index: number): string {
  return `${accountId}#${gen}.${index}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export class RecordStore {
  readonly #store: SecretStore;

  constructor(store: SecretStore) {
    this.#store = store;
  }

  get store(): SecretStore {
    return this.#store;
  }

  /** The stored payload, verified, or null when the account has no record. */
  async read(accountId: string): Promise<{ gen: number; payload: string } | null> {
    const header = await this.#readHeader(accountId);
    if (!header) return null;
    if ('inline' in header) {
      this.#verify(accountId, header.inline, header.sha256);
      return { gen: header.gen, payload: header.inline };
    }
    const parts: string[] = [];
    for (let i = 0; i < header.chunks; i++) {
      const part = await this.#store.get(chunkName(accountId, header.gen, i));
      if (part === null) {
        throw new TokentrayError('record_corrupt', `chunk ${i + 1} of ${header.chunks} of the keychain record of "${accountId}" is missing`);
      }
      parts.push(part);
    }
    const payload = parts.join('');
    if (Buffer.byteLength(payload, 'utf8') !== header.bytes) {
      throw new TokentrayError('record_corrupt', `the keychain record of "${accountId}" has ${Buffer.byteLength(payload, 'utf8')} bytes, its header says ${header.bytes}`);
    }
    this.#verify(accountId, payload, header.sha256);
    return { gen: header.gen, payload };
  }

  /**
   * Writes a new generation. `payloadFor` receives the generation number, so the record can
   * carry it. Resolves with the generation written.
   */
  async write(accountId: string, payloadFor: (gen: number) => string): Promise<number> {
    const previous = await this.#readHeaderLenient(accountId);
    const gen = (previous?.gen ?? 0) + 1;
    const payload = payloadFor(gen);
    if (/[^\x20-\x7e]/.test(payload)) {
      // Chunks are cut at byte offsets: an ASCII payload keeps every chunk valid text.
      throw new TokentrayError('internal', 'a keychain payload must be printable ASCII');
    }
    const digest = sha256(payload);
    const limit = this.#store.maxSecretBytes;
    const inline = JSON.stringify({ tt: 1, gen, sha256: digest, inline: payload } satisfies Header);

    // Without a size limit (the Secret Service, macOS) and over an inline record, no chunk can be
    // left over: the one `set` is the whole write, with no sweep before it (each sweep asks the
    // keychain about an item name it has never seen, which costs a new connection).
    const nothingToSweep = limit === null && previous !== null && 'inline' in previous;
    if (nothingToSweep) {
      await this.#store.set(accountId, inline);
      return gen;
    }
    if (limit === null || inline.length <= limit) {
      await this.#sweep(accountId, gen, 0); // leftovers of an earlier failed chunked write
      await this.#store.set(accountId, inline);
    } else {
      const size = limit;
      const count = Math.ceil(payload.length / size);
      // A failed write at this generation may have left more chunks than we need now.
      await this.#sweep(accountId, gen, count);
      for (let i = 0; i < count; i++) {
        await this.#store.set(chunkName(accountId, gen, i), payload.slice(i * size, (i + 1) * size));
      }
      const header = JSON.stringify({ tt: 1, gen, sha256: digest, bytes: payload.length, chunks: count } satisfies Header);
      await this.#store.set(accountId, header); // the flip: one atomic item write
    }
    // Only now that the header points at the new generation may the old chunks go.
    for (let older = gen - 1; older >= Math.max(1, gen - SWEEP_GENERATIONS); older--) {
      await this.#sweep(accountId, older, 0);
    }
    return gen;
  }

  /** Deletes the record and every chunk it may have left; the header goes last. */
  async delete(accountId: string): Promise<boolean> {
    const header = await this.#readHeaderLenient(accountId);
    if (header) {
      for (let gen = Math.max(1, header.gen - SWEEP_GENERATIONS); gen <= header.gen + 1; gen++) {
        await this.#sweep(accountId, gen, 0);
      }
    }
    return this.#store.delete(accountId);
  }

  /** Deletes chunks `from`, `from+1`, ... of a generation until one is missing. */
  async #sweep(accountId: string, gen: number, from: number): Promise<void> {
    for (let i = from; ; i++) {
      if (!(await this.#store.delete(chunkName(accountId, gen, i)))) return;
    }
  }

  async #readHeader(accountId: string): Promise<Header | null> {
    const text = await this.#store.get(accountId);
    if (text === null) return null;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (cause) {
      throw new TokentrayError('record_corrupt', `the keychain header of "${accountId}" is not valid JSON`, { cause });
    }
    const parsed = headerSchema.safeParse(raw);
    if (!parsed.success) throw new TokentrayError('record_corrupt', `the keychain header of "${accountId}" has an unknown shape`);
    return parsed.data;
  }

  /** For writers: a corrupt header must not block writing a good record over it. */
  async #readHeaderLenient(accountId: string): Promise<Header | null> {
    try {
      return await this.#readHeader(accountId);
    } catch (error) {
      if (error instanceof TokentrayError && error.code === 'record_corrupt') return null;
      throw error;
    }
  }

  #verify(accountId: string, payload: string, expected: string): void {
    if (sha256(payload) !== expected) {
      throw new TokentrayError('record_corrupt', `the keychain record of "${accountId}" fails its SHA-256 check`);
    }
  }
}
