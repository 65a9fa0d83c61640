import { createHash } from 'node:crypto';
import { z } from 'zod';
import { TokentrayError } from '../../../shared/errors.ts';
import type { SecretStore } from './secret-store.ts';

/**
 * Stores one record per account as one atomic unit, even where the keychain caps an item's
 * size. A record that fits goes inline in the header item (`<id>`). A larger one is split into
 * chunks written under a new generation, in the one of two slots (`<id>#a.<index>`,
 * `<id>#b.<index>`, by the generation's parity) the current header does not use; then the
 * header flips to them in one write; only then are the old slot's chunks deleted. Readers check
 * a SHA-256 over the whole payload. A crash at any point leaves the old or the new record,
 * never a mix. Two fixed slots mean every chunk can be found without the header: a damaged
 * header can no longer hide chunks from a later write or a removal.
 */
const headerSchema = z.union([
  z.strictObject({ tt: z.literal(1), gen: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/), inline: z.string() }),
  z.strictObject({
    tt: z.literal(1),
    gen: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: z.number().int().nonnegative(),
    chunks: z.number().int().positive().max(10_000),
    /** Chunks live in the slot of `gen`; absent: the older layout, named by generation. */
    slots: z.literal(true).optional(),
  }),
]);
type Header = z.infer<typeof headerSchema>;

/** The older layout: how many generations around the header's a sweep covers. */
const SWEEP_GENERATIONS = 2;

export function chunkName(accountId: string, gen: number, index: number): string {
  return `${accountId}#${gen % 2 === 1 ? 'a' : 'b'}.${index}`;
}

/** Chunks as the first layout named them (one name per generation), still read and cleaned. */
function legacyChunkName(accountId: string, gen: number, index: number): string {
  return `${accountId}#${gen}.${index}`;
}

type ChunkedHeader = Extract<Header, { chunks: number }>;

function nameOf(header: ChunkedHeader): (accountId: string, gen: number, index: number) => string {
  return header.slots ? chunkName : legacyChunkName;
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
  async read(accountId: string): Promise<{ gen: number; payload: string; inline: boolean } | null> {
    const header = await this.#readHeader(accountId);
    if (!header) return null;
    if ('inline' in header) {
      this.#verify(accountId, header.inline, header.sha256);
      return { gen: header.gen, payload: header.inline, inline: true };
    }
    const parts: string[] = [];
    for (let i = 0; i < header.chunks; i++) {
      const part = await this.#store.get(nameOf(header)(accountId, header.gen, i));
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
    return { gen: header.gen, payload, inline: false };
  }

  /**
   * Writes a new generation. `payloadFor` receives the generation number, so the record can
   * carry it. Resolves with the generation written.
   */
  async write(accountId: string, payloadFor: (gen: number) => string, known?: { gen: number }): Promise<number> {
    // The hot path (a rotated refresh token on its way in): on a keychain without a size limit,
    // when the caller knows the generation the keychain holds (it read or wrote it), the one
    // `set` is the whole write — no header read before it.
    if (known && this.#store.maxSecretBytes === null) {
      const gen = known.gen + 1;
      const payload = payloadFor(gen);
      if (/[^\x20-\x7e]/.test(payload)) throw new TokentrayError('internal', 'a keychain payload must be printable ASCII');
      await this.#store.set(accountId, JSON.stringify({ tt: 1, gen, sha256: sha256(payload), inline: payload } satisfies Header));
      return gen;
    }
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
    // The slot this generation writes holds nothing the current header needs: leftovers of an
    // earlier failed write go first. With no readable header, the other slot may hold chunks
    // nothing points to any more (a damaged header): they go too.
    // (A keychain with no size limit never holds chunks: nothing to sweep, no call spent on it.)
    if (limit !== null) {
      await this.#sweep(chunkName, accountId, gen, 0);
      if (previous === null) await this.#sweep(chunkName, accountId, gen + 1, 0);
    }
    if (limit === null || inline.length <= limit) {
      await this.#store.set(accountId, inline);
    } else {
      const size = limit;
      const count = Math.ceil(payload.length / size);
      for (let i = 0; i < count; i++) {
        await this.#store.set(chunkName(accountId, gen, i), payload.slice(i * size, (i + 1) * size));
      }
      const header = JSON.stringify({ tt: 1, gen, sha256: digest, bytes: payload.length, chunks: count, slots: true } satisfies Header);
      await this.#store.set(accountId, header); // the flip: one atomic item write
    }
    // Only now that the header points at the new generation may the old chunks go.
    if (previous && 'chunks' in previous) await this.#sweepChunksOf(accountId, previous);
    return gen;
  }

  /** Deletes the record and every chunk it may have left; the header goes last. */
  async delete(accountId: string): Promise<boolean> {
    const header = await this.#readHeaderLenient(accountId);
    // Both slots, whatever the header says (or whether it can be read at all) — where chunks
    // can exist: a keychain with a size limit, or a header that says so.
    if (this.#store.maxSecretBytes !== null || (header && 'chunks' in header)) {
      await this.#sweep(chunkName, accountId, 1, 0);
      await this.#sweep(chunkName, accountId, 2, 0);
    }
    if (header && 'chunks' in header && !header.slots) await this.#sweepChunksOf(accountId, header);
    return this.#store.delete(accountId);
  }

  /** A previous record's chunks, and those a crash of the layout named by generation may have left. */
  async #sweepChunksOf(accountId: string, header: ChunkedHeader): Promise<void> {
    if (header.slots) {
      await this.#sweep(chunkName, accountId, header.gen, 0);
      return;
    }
    for (let gen = Math.max(1, header.gen - SWEEP_GENERATIONS); gen <= header.gen + 1; gen++) await this.#sweep(legacyChunkName, accountId, gen, 0);
  }

  /** Deletes chunks `from`, `from+1`, ... of a generation until one is missing. */
  async #sweep(name: (accountId: string, gen: number, index: number) => string, accountId: string, gen: number, from: number): Promise<void> {
    for (let i = from; ; i++) {
      if (!(await this.#store.delete(name(accountId, gen, i)))) return;
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
