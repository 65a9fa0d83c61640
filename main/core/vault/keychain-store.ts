import { spawn } from 'node:child_process';
import { AsyncEntry } from '@napi-rs/keyring';
import { TokentrayError } from '../../../shared/errors.ts';
import { withDeadline } from '../deadline.ts';
import type { SecretStore } from './secret-store.ts';

/** Every keychain call answers within this, or the keychain counts as unavailable. */
export const KEYCHAIN_TIMEOUT_MS = 1500;

/** Windows Credential Manager keeps at most 2,560 bytes in one credential blob. */
const WINDOWS_MAX_SECRET_BYTES = 2560;

export interface KeychainStoreOptions {
  service: string;
  platform?: NodeJS.Platform;
  timeoutMs?: number;
}

/**
 * The OS keychain through `@napi-rs/keyring`. On Linux it is pinned to the Secret Service, so
 * it never falls back silently to the kernel keyring, which forgets everything on logout.
 */
export class KeychainStore implements SecretStore {
  readonly label: string;
  readonly maxSecretBytes: number | null;
  readonly persistent = true;
  readonly #service: string;
  readonly #platform: NodeJS.Platform;
  readonly #timeoutMs: number;
  readonly #entries = new Map<string, AsyncEntry>();
  /** Native calls not yet answered, including those that outlived their deadline. */
  readonly #inFlight = new Set<Promise<unknown>>();
  #busChecked = false;

  constructor(options: KeychainStoreOptions) {
    this.#service = options.service;
    this.#platform = options.platform ?? process.platform;
    this.#timeoutMs = options.timeoutMs ?? KEYCHAIN_TIMEOUT_MS;
    this.maxSecretBytes = this.#platform === 'win32' ? WINDOWS_MAX_SECRET_BYTES : null;
    this.label = { darwin: 'macOS Keychain', win32: 'Windows Credential Manager' }[this.#platform as string] ?? 'Secret Service';
  }

  async get(name: string): Promise<string | null> {
    const bytes = await this.#call('read', name, (entry, signal) => entry.getSecret(signal));
    return bytes === null ? null : Buffer.from(bytes).toString('utf8');
  }

  async set(name: string, value: string): Promise<void> {
    await this.#call('write', name, (entry, signal) => entry.setSecret(Buffer.from(value, 'utf8'), signal));
  }

  async delete(name: string): Promise<boolean> {
    return this.#call('delete', name, (entry, signal) => entry.deleteCredential(signal));
  }

  async #call<T>(what: string, name: string, op: (entry: AsyncEntry, signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await withDeadline(this.#timeoutMs, 'keychain_unavailable', `the ${this.label} did not answer within ${this.#timeoutMs} ms`, (signal) => {
        const call = (async () => {
          await this.#checkBus();
          return op(this.#entry(name), signal);
        })();
        this.#inFlight.add(call);
        void call.then(() => this.#inFlight.delete(call), () => this.#inFlight.delete(call));
        return call;
      });
    } catch (error) {
      throw toKeychainError(error, `${what} of keychain item "${name}" failed`, this.label);
    }
  }

  async settle(maxMs: number): Promise<void> {
    if (this.#inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => { timer = setTimeout(resolve, maxMs); });
    await Promise.race([Promise.allSettled([...this.#inFlight]), cap]);
    clearTimeout(timer);
  }

  #entry(name: string): AsyncEntry {
    let entry = this.#entries.get(name);
    if (!entry) {
      entry = new AsyncEntry(this.#service, name, { linux: { store: 'secret-service' } });
      this.#entries.set(name, entry);
    }
    return entry;
  }

  /**
   * The keyring's constructor connects to D-Bus synchronously: on a bus that accepts the
   * connection and never answers it blocks the whole event loop, where no timeout can reach.
   * So on Linux we first ask the Secret Service for a ping from a child process we can kill.
   */
  async #checkBus(): Promise<void> {
    if (this.#platform !== 'linux' || this.#busChecked) return;
    if (!process.env['DBUS_SESSION_BUS_ADDRESS']) {
      throw new TokentrayError('keychain_unavailable', 'no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set), so no Secret Service', { retryable: true });
    }
    await pingSecretService(this.#timeoutMs);
    this.#busChecked = true;
  }
}

function pingSecretService(timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'dbus-send',
      ['--session', '--print-reply', `--reply-timeout=${timeoutMs}`, '--dest=org.freedesktop.secrets', '/org/freedesktop/secrets', 'org.freedesktop.DBus.Peer.Ping'],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    child.on('error', (error: NodeJS.ErrnoException) => {
      // Without dbus-send we cannot pre-check; the keyring call itself still runs under a deadline.
      if (error.code === 'ENOENT') resolve();
      else reject(error);
    });
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new TokentrayError('keychain_unavailable', `the Secret Service does not answer on the session bus: ${stderr.trim() || `dbus-send exited with ${code}`}`, { retryable: true }));
    });
  });
}

/** The one place where the keyring's errors become Tokentray errors. */
export function toKeychainError(error: unknown, context: string, label: string): TokentrayError {
  if (error instanceof TokentrayError) {
    return error.code === 'keychain_unavailable'
      ? new TokentrayError('keychain_unavailable', `${context}: ${error.message}`, { cause: error, retryable: true })
      : error;
  }
  const message = error instanceof Error ? error.message : String(error);
  const unavailable = /dbus|connect|no result found|locked|no storage access|platform failure|not available|autolaunch|aborted/i.test(message);
  return new TokentrayError(
    unavailable ? 'keychain_unavailable' : 'keychain_error',
    `${context}: the ${label} ${unavailable ? 'is not available' : 'reported an error'} (${message})`,
    { cause: error, retryable: true },
  );
}
