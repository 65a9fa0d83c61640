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

export class Redactor {
  readonly #secrets = new Set<string>();
  /** Per owner (an account), its current secrets and the generation before (a late log line may still quote those). */
  readonly #owned = new Map<string, { current: string[]; previous: string[] }>();

  /** Remember a secret value so it is scrubbed wherever it shows up later. */
  addSecret(value: string | null | undefined): void {
    if (value && value.length >= MIN_REGISTERED_LENGTH) this.#secrets.add(value);
  }

  forgetSecret(value: string | null | undefined): void {
    if (value) this.#secrets.delete(value);
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
    this.#owned.set(owner, { current, previous: before ? before.current.filter((v) => !current.includes(v)) : [] });
  }

  forgetOwner(owner: string): void {
    this.#owned.delete(owner);
  }

  /** How many secret values are remembered (bounded: tests prove it). */
  get size(): number {
    let n = this.#secrets.size;
    for (const { current, previous } of this.#owned.values()) n += current.length + previous.length;
    return n;
  }

  *#all(): Iterable<string> {
    yield* this.#secrets;
    for (const { current, previous } of this.#owned.values()) {
      yield* current;
      yield* previous;
    }
  }

  redactString(input: string): string {
    let out = input;
    for (const secret of this.#all()) {
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
