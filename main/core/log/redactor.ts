/**
 * Scrubs secrets from anything about to be logged. Three nets, because one is never enough:
 * 1. by field name, at any depth (`access_token`, `refreshToken`, `Authorization`, ...);
 * 2. by shape, in every string (JWTs, `Bearer …`, `Basic …`, token-ish form fields);
 * 3. by value: every secret the vault or an OAuth flow has handled is registered here, and any
 *    string containing it is scrubbed, whatever its shape.
 */
export const REDACTED = '[redacted]';

const SECRET_KEYS = new Set(
  [
    'access_token',
    'refresh_token',
    'id_token',
    'client_secret',
    'authorization',
    'code_verifier',
    'password',
    'secret',
    'token',
    'key',
    'cookie',
    'set-cookie',
    'app_secret',
    'appsecret_proof',
    'client_assertion',
    'device_code',
  ].map(normaliseKey),
);

function normaliseKey(key: string): string {
  return key.replace(/[-_]/g, '').toLowerCase();
}

function isSecretKey(key: string): boolean {
  const k = normaliseKey(key);
  return SECRET_KEYS.has(k) || k.endsWith('token') || k.endsWith('secret') || k.endsWith('verifier');
}

const SHAPES: RegExp[] = [
  /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)?/g, // JWS/JWT, even cut short
  /\b(Bearer|Basic|DPoP)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /\b(access_token|refresh_token|id_token|client_secret|code_verifier|code|device_code|password)=[^&\s"']+/gi,
  /("(?:access_token|refresh_token|id_token|client_secret|code_verifier)"\s*:\s*")[^"]*"/gi,
];

const MIN_REGISTERED_LENGTH = 8;
const MAX_DEPTH = 8;

/** Up to this many secrets a string is searched for each; past it, through the prefix index. */
const LINEAR_MAX = 32;

export class Redactor {
  readonly #secrets = new Set<string>();
  /** Per owner (an account), its current secrets and the generation before (a late log line may still quote those). */
  readonly #owned = new Map<string, { current: string[]; previous: string[] }>();
  /** Every distinct secret value, counted once per holder (#secrets, an owner's generations). */
  readonly #refs = new Map<string, number>();
  /**
   * The same values by their last MIN_REGISTERED_LENGTH characters: a token's end is its
   * entropy (a JWT's signature), while its start is often shared (`eyJhbGciOi…`, `gho_`).
   */
  readonly #byEnd = new Map<string, Set<string>>();

  /** Remember a secret value so it is scrubbed wherever it shows up later. */
  addSecret(value: string | null | undefined): void {
    if (value && value.length >= MIN_REGISTERED_LENGTH && !this.#secrets.has(value)) {
      this.#secrets.add(value);
      this.#ref(value);
    }
  }

  forgetSecret(value: string | null | undefined): void {
    if (value && this.#secrets.delete(value)) this.#unref(value);
  }

  /**
   * The secrets an owner holds now. Rotation replaces them: only the current and the previous
   * generation are kept, so the set stays bounded however long the broker runs (older ones
   * are still caught by the token-shape rules).
   */
  setOwnedSecrets(owner: string, values: Array<string | null | undefined>): void {
    const current = [...new Set(values.filter((v): v is string => !!v && v.length >= MIN_REGISTERED_LENGTH))];
    const before = this.#owned.get(owner);
    if (before && before.current.length === current.length && before.current.every((v, i) => v === current[i])) return;
    const next = { current, previous: before ? before.current.filter((v) => !current.includes(v)) : [] };
    this.#owned.set(owner, next);
    for (const value of [...next.current, ...next.previous]) this.#ref(value);
    if (before) for (const value of [...before.current, ...before.previous]) this.#unref(value);
  }

  forgetOwner(owner: string): void {
    const before = this.#owned.get(owner);
    if (!before) return;
    this.#owned.delete(owner);
    for (const value of [...before.current, ...before.previous]) this.#unref(value);
  }

  /** How many secret values are remembered (bounded: tests prove it). */
  get size(): number {
    let n = this.#secrets.size;
    for (const { current, previous } of this.#owned.values()) n += current.length + previous.length;
    return n;
  }

  #ref(value: string): void {
    const n = this.#refs.get(value) ?? 0;
    this.#refs.set(value, n + 1);
    if (n > 0) return;
    const end = value.slice(-MIN_REGISTERED_LENGTH);
    let bucket = this.#byEnd.get(end);
    if (!bucket) this.#byEnd.set(end, (bucket = new Set()));
    bucket.add(value);
  }

  #unref(value: string): void {
    const n = this.#refs.get(value) ?? 0;
    if (n > 1) {
      this.#refs.set(value, n - 1);
      return;
    }
    this.#refs.delete(value);
    const end = value.slice(-MIN_REGISTERED_LENGTH);
    const bucket = this.#byEnd.get(end);
    bucket?.delete(value);
    if (bucket?.size === 0) this.#byEnd.delete(end);
  }

  /**
   * The registered secrets that occur in `input`, longest first. Few: each is searched for.
   * Many (three per account: 30,000 at 10,000 accounts, where a linear search made every log
   * line cost milliseconds): each position of the string is looked up as a secret's end.
   */
  #occurring(input: string): string[] {
    if (this.#refs.size <= LINEAR_MAX) return [...this.#refs.keys()].filter((secret) => input.includes(secret)).sort((a, b) => b.length - a.length);
    const found = new Set<string>();
    for (let end = MIN_REGISTERED_LENGTH; end <= input.length; end++) {
      const bucket = this.#byEnd.get(input.slice(end - MIN_REGISTERED_LENGTH, end));
      if (bucket) for (const secret of bucket) if (input.endsWith(secret, end)) found.add(secret);
    }
    return [...found].sort((a, b) => b.length - a.length);
  }

  redactString(input: string): string {
    let out = input;
    for (const secret of this.#occurring(input)) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    for (const shape of SHAPES) {
      out = out.replace(shape, (match, prefix: unknown) => {
        if (typeof prefix === 'string' && prefix.startsWith('"')) return `${prefix}${REDACTED}"`;
        const eq = match.indexOf('=');
        if (eq > 0 && /^[a-z_]+=/i.test(match)) return `${match.slice(0, eq + 1)}${REDACTED}`;
        const space = match.search(/\s/);
        if (space > 0) return `${match.slice(0, space)} ${REDACTED}`;
        return REDACTED;
      });
    }
    return out;
  }

  /** A deep, redacted copy safe to serialise. Errors become plain objects (with their causes). */
  redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
    if (typeof value === 'string') return this.redactString(value);
    if (value === null || typeof value !== 'object') {
      return typeof value === 'bigint' ? value.toString() : value;
    }
    if (seen.has(value)) return '[circular]';
    if (depth >= MAX_DEPTH) return '[too deep]';
    seen.add(value);
    if (value instanceof Error) {
      const out: Record<string, unknown> = { type: value.name, message: this.redactString(value.message) };
      const extra = value as Error & { code?: unknown; retryable?: unknown; status?: unknown };
      if (extra.code !== undefined) out['code'] = this.redact(extra.code, depth + 1, seen);
      if (extra.retryable !== undefined) out['retryable'] = extra.retryable;
      if (extra.status !== undefined) out['status'] = extra.status;
      if (value.stack) out['stack'] = this.redactString(value.stack);
      if (value.cause !== undefined) out['cause'] = this.redact(value.cause, depth + 1, seen);
      return out;
    }
    if (Array.isArray(value)) return value.map((item) => this.redact(item, depth + 1, seen));
    if (value instanceof Map) return this.redact(Object.fromEntries(value), depth, seen);
    if (value instanceof URL) return this.redactString(value.toString());
    if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = isSecretKey(key) && item !== null && item !== undefined && typeof item !== 'boolean'
        ? REDACTED
        : this.redact(item, depth + 1, seen);
    }
    return out;
  }
}
