import { fork, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { TokentrayError } from '../../../shared/errors.ts';
import { withDeadline } from '../deadline.ts';
import type { KeychainMessage, KeychainRequest } from './keychain-worker.ts';
import type { SecretStore } from './secret-store.ts';
import type { WorkerFetch } from './keychain-protocol.ts';
import { MAX_PROVIDER_BODY_BYTES, rebuiltResponse } from '../oauth/bounded-body.ts';
import { probes } from '../oauth/request-sent.ts';
import { SecretServiceBus } from './secret-service-bus.ts';
import { BusError } from './session-bus.ts';

/** Every keychain call answers within this, or the keychain counts as unavailable. */
export const KEYCHAIN_TIMEOUT_MS = 1500;

/**
 * How long the keychain process may take to start (a Node process loading the keyring library)
 * before the keychain counts as unavailable. Apart from the calls' deadline: a process start
 * takes 0.2 s on an idle machine and over 1 s on a loaded one, and it says nothing about the
 * keychain (a fresh store's first call failed at 1.5 s in loaded test runs).
 */
export const KEYCHAIN_START_TIMEOUT_MS = 10_000;

/** A failed ping of the Secret Service answers every call for this long before the next ping. */
const BUS_RECHECK_MS = 1000;
/** The same while the bus will announce its return: asking again is only a safety net then. */
const BUS_WATCHED_RECHECK_MS = 30_000;

/** Windows Credential Manager keeps at most 2,560 bytes in one credential blob. */
const WINDOWS_MAX_SECRET_BYTES = 2560;

export interface KeychainStoreOptions {
  service: string;
  platform?: NodeJS.Platform;
  timeoutMs?: number;
  /** How long the keychain process may take to start (default KEYCHAIN_START_TIMEOUT_MS). */
  startTimeoutMs?: number;
  /** How long a call the keychain process started may run, or the process stay silent with calls open, before it is replaced (default 15 s). */
  stuckAfterMs?: number;
  /** How the keychain process is started (default: a Node child process). */
  spawnWorker?: KeychainWorkerFactory;
  /** The folder for the keychain process's hand-off marker after a broker crash (keychain-handoff.ts). */
  handoffDir?: string;
}

/** What the keychain process answers to a KeychainRequest. */
const workerReplySchema = z.union([
  z.strictObject({ id: z.number().int(), ok: z.literal(true), value: z.union([z.string(), z.boolean(), z.null()]) }),
  z.strictObject({ id: z.number().int(), ok: z.literal(false), message: z.string() }),
]);

/** What it answers to a WorkerFetch. */
const fetchReplySchema = z.union([
  z.strictObject({ id: z.number().int(), ok: z.literal(true), value: z.strictObject({ status: z.number().int(), headers: z.array(z.tuple([z.string(), z.string()])), body: z.string(), sent: z.boolean() }) }),
  z.strictObject({ id: z.number().int(), ok: z.literal(false), message: z.string(), name: z.string(), code: z.string().nullable(), causeMessage: z.string().nullable(), sent: z.boolean() }),
]);
type FetchReply = z.infer<typeof fetchReplySchema>;

/**
 * The channel to the keychain process. The default forks `keychain-worker` with this Node; the
 * Electron shell, where `RunAsNode` is fused off, passes one made with `utilityProcess.fork`.
 */
export interface KeychainWorker {
  /** The process's id, where it has one (diagnostics and tests). */
  readonly pid: number | undefined;
  send(message: KeychainMessage): void;
  onMessage(listener: (message: unknown) => void): void;
  onExit(listener: (reason: string) => void): void;
  /** Whether the worker keeps the broker's event loop alive (only while a call is open). */
  ref(active: boolean): void;
  kill(): void;
}

export type KeychainWorkerFactory = (service: string, options?: { handoffDir?: string | undefined }) => KeychainWorker;

/** The keychain process's script, for a factory that starts it another way (Electron's utilityProcess). */
export const keychainWorkerFile = fileURLToPath(new URL(`./keychain-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

export const forkKeychainWorker: KeychainWorkerFactory = (service, options = {}) => {
  // --expose-gc: the worker collects dropped entries, which closes their D-Bus connections.
  // Its stderr is the broker's (it writes there only if it crashes; a pipe would hold the event loop).
  const env = options.handoffDir ? { ...process.env, TOKENTRAY_KEYCHAIN_HANDOFF_DIR: options.handoffDir } : process.env;
  const child = fork(keychainWorkerFile, [service], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'json', env });
  return {
    pid: child.pid,
    send: (message) => { if (child.connected) child.send(message); },
    onMessage: (listener) => { child.on('message', listener); },
    onExit: (listener) => {
      child.on('error', (error) => listener(`the keychain process failed: ${error.message}`));
      child.on('exit', (code, signal) => listener(`the keychain process exited (${signal ?? `code ${code}`})`));
    },
    ref: (active) => {
      if (active) { child.ref(); child.channel?.ref(); } else { child.unref(); child.channel?.unref(); }
    },
    kill: () => { child.kill('SIGKILL'); },
  };
};

/** A call the keychain process has not answered for this long means it is stuck: it is replaced. */
const STUCK_AFTER_MS = 15_000;

interface OpenCall {
  resolve: (value: string | boolean | null) => void;
  reject: (error: Error) => void;
  sentAt: number;
}

/**
 * The OS keychain through `@napi-rs/keyring`, pinned to the Secret Service on Linux, so it
 * never falls back silently to the kernel keyring, which forgets everything on logout.
 *
 * Every call goes to one keychain process (see keychain-worker.ts): the broker holds one pipe
 * to it and no D-Bus connection of its own; the process keeps a small, bounded number of
 * connections. A process that dies is replaced on the next call; one with a call running, or
 * silent, for stuckAfterMs is killed and replaced. Calls on one item run in the order they were made, and
 * a call whose deadline passed before it started is cancelled, never run late.
 */
export class KeychainStore implements SecretStore {
  readonly label: string;
  readonly maxSecretBytes: number | null;
  readonly persistent = true;
  readonly #service: string;
  readonly #platform: NodeJS.Platform;
  readonly #timeoutMs: number;
  readonly #startTimeoutMs: number;
  readonly #stuckAfterMs: number;
  readonly #spawn: KeychainWorkerFactory;
  readonly #handoffDir: string | undefined;
  #worker: KeychainWorker | null = null;
  /** Settles when the current worker says it is loaded (or is lost first). */
  #ready: Promise<void> = Promise.resolve();
  #started: { resolve: () => void; reject: (error: Error) => void; timer: NodeJS.Timeout } | null = null;
  readonly #open = new Map<number, OpenCall>();
  /** When the worker last said anything (or was started), and since when it runs each call it started: see #checkStuck. */
  #lastHeard = 0;
  readonly #running = new Map<number, number>();
  /** Refresh requests the keychain process is sending for us (not keychain calls: never "stuck"). */
  readonly #fetches = new Map<number, (reply: FetchReply | null) => void>();
  #nextId = 1;
  /** Native calls not yet answered, including those that outlived their deadline. */
  readonly #inFlight = new Set<Promise<unknown>>();
  #busChecked = false;
  /** The ping in flight: calls that arrive meanwhile wait for it instead of starting their own. */
  #busCheck: Promise<void> | null = null;
  /** The last failed ping, reused by every call for BUS_RECHECK_MS (BUS_WATCHED_RECHECK_MS, or until the bus says it is back, while we watch for it). */
  #busFailure: { error: unknown; until: number } | null = null;
  /** Our own connection to the session bus (Linux): pings, and word of the Secret Service coming and going. */
  #secretService: SecretServiceBus | null = null;
  readonly #returned = new Set<() => void>();

  constructor(options: KeychainStoreOptions) {
    this.#service = options.service;
    this.#platform = options.platform ?? process.platform;
    this.#timeoutMs = options.timeoutMs ?? KEYCHAIN_TIMEOUT_MS;
    this.#startTimeoutMs = options.startTimeoutMs ?? KEYCHAIN_START_TIMEOUT_MS;
    this.#stuckAfterMs = options.stuckAfterMs ?? STUCK_AFTER_MS;
    this.#spawn = options.spawnWorker ?? forkKeychainWorker;
    this.#handoffDir = options.handoffDir;
    this.maxSecretBytes = this.#platform === 'win32' ? WINDOWS_MAX_SECRET_BYTES : null;
    this.label = { darwin: 'macOS Keychain', win32: 'Windows Credential Manager' }[this.#platform as string] ?? 'Secret Service';
  }

  /** The keychain process's pid while one runs. */
  get workerPid(): number | undefined {
    return this.#worker?.pid;
  }

  /** See SecretStore.watchingForReturn: the Secret Service is away from a bus we watch. */
  get watchingForReturn(): boolean {
    return this.#secretService?.watchingForReturn ?? false;
  }

  /** See SecretStore.onReturn. */
  onReturn(listener: () => void): () => void {
    this.#returned.add(listener);
    return () => this.#returned.delete(listener);
  }

  async get(name: string): Promise<string | null> {
    const value = await this.#call('read', { op: 'get', name });
    return typeof value === 'string' ? value : null;
  }

  async set(name: string, value: string): Promise<void> {
    await this.#call('write', { op: 'set', name, value });
  }

  async delete(name: string): Promise<boolean> {
    return (await this.#call('delete', { op: 'delete', name })) === true;
  }

  /**
   * A fetch for one refresh request, sent by the keychain process: if the broker dies while the
   * request is in flight or before the record with the new refresh token is written, that
   * process still receives the answer and journals it in the keychain (keychain-worker.ts,
   * refresh-journal.ts). The answer's body is bounded there (MAX_PROVIDER_BODY_BYTES).
   */
  fetchFor(journal: { account: string; presented: string; timeoutMs: number }): typeof fetch {
    return async (input, init) => {
      const request = new Request(input, init);
      const message: Omit<WorkerFetch, 'id'> = {
        op: 'fetch',
        account: journal.account,
        presented: journal.presented,
        url: request.url,
        method: request.method,
        headers: headerList(request.headers),
        body: request.method === 'GET' || request.method === 'HEAD' ? null : await request.text(),
        timeoutMs: journal.timeoutMs,
        maxBytes: MAX_PROVIDER_BODY_BYTES,
      };
      const signal = init?.signal ?? null;
      signal?.throwIfAborted();
      const worker = this.#ensureWorker();
      const id = this.#nextId++;
      const reply = await new Promise<FetchReply | null>((resolve) => {
        this.#fetches.set(id, resolve);
        worker.ref(true);
        worker.send({ id, ...message });
        // Cancelled: the keychain process answers with what it knows (was the request sent?); if
        // it cannot within a second, the request counts as sent.
        signal?.addEventListener('abort', () => {
          worker.send({ cancel: id });
          setTimeout(() => { if (this.#fetches.delete(id)) resolve(null); }, 1_000).unref();
        }, { once: true });
      });
      const probe = probes.getStore();
      if (signal?.aborted) {
        if (probe) probe.sent = reply ? (reply.ok ? reply.value.sent : reply.sent) : true;
        throw signal.reason;
      }
      if (!reply) {
        // The keychain process died with the request open: it may have been sent (retried once).
        if (probe) probe.sent = true;
        throw new TypeError('fetch failed', { cause: Object.assign(new Error('the keychain process exited during the request'), { code: 'EWORKER' }) });
      }
      if (probe) probe.sent = reply.ok ? reply.value.sent : reply.sent;
      if (reply.ok) return rebuiltResponse(reply.value.status, reply.value.headers, reply.value.body);
      if (reply.name === 'TimeoutError' || reply.name === 'AbortError') throw new DOMException(reply.message, reply.name);
      if (reply.name === 'BodyTooLargeError') throw Object.assign(new Error(reply.message), { name: reply.name });
      throw new TypeError(reply.message, { cause: Object.assign(new Error(reply.causeMessage ?? reply.message), { code: reply.code ?? undefined }) });
    };
  }

  async #call(what: string, request: Omit<KeychainRequest, 'id'>): Promise<string | boolean | null> {
    try {
      // The Secret Service answers a ping within the deadline, and the keychain process has
      // started (its own allowance); only then does the call's deadline begin.
      await this.#track((async () => {
        await this.#checkBus();
        this.#ensureWorker();
        await this.#ready;
      })());
      return await withDeadline(this.#timeoutMs, 'keychain_unavailable', `the ${this.label} did not answer within ${this.#timeoutMs} ms`, (signal) => this.#track(this.#send(request, signal)));
    } catch (error) {
      const failure = toKeychainError(error, `${what} of keychain item "${request.name}" failed`, this.label);
      // The keyring said it is not there (not our deadline: a slow keyring is not a gone one):
      // the next call asks the bus first, which fails fast and hears of its return meanwhile.
      if (failure.code === 'keychain_unavailable' && !(error instanceof TokentrayError)) this.#busChecked = false;
      throw failure;
    }
  }

  /** A call stays in #inFlight (see settle) while it waits for the start and until it is answered, past its deadline too. */
  #track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    void work.then(() => this.#inFlight.delete(work), () => this.#inFlight.delete(work));
    return work;
  }

  #send(request: Omit<KeychainRequest, 'id'>, signal: AbortSignal): Promise<string | boolean | null> {
    this.#checkStuck();
    const worker = this.#ensureWorker();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#open.set(id, { resolve, reject, sentAt: performance.now() });
      worker.ref(true);
      worker.send({ id, ...request });
      // Past its deadline a call that has not started is dropped by the worker, never run late.
      signal.addEventListener('abort', () => { worker.send({ cancel: id }); this.#checkStuck(); }, { once: true });
    });
  }

  #ensureWorker(): KeychainWorker {
    if (this.#worker) return this.#worker;
    const worker = this.#spawn(this.#service, { handoffDir: this.#handoffDir });
    this.#worker = worker;
    this.#lastHeard = performance.now();
    this.#ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#lost(worker, `the keychain process did not start within ${Math.round(this.#startTimeoutMs / 1000)} s`);
        worker.kill();
      }, this.#startTimeoutMs);
      timer.unref();
      this.#started = { resolve, reject, timer };
    });
    this.#ready.catch(() => undefined); // a start nobody waits for (a fetch's) may fail unobserved
    worker.onMessage((message) => this.#answer(message));
    worker.onExit((reason) => this.#lost(worker, reason));
    return worker;
  }

  #answer(message: unknown): void {
    this.#lastHeard = performance.now();
    if ((message as { ready?: unknown } | null)?.ready === true) {
      this.#settleStart();
      return;
    }
    const started = (message as { started?: unknown } | null)?.started;
    if (typeof started === 'number') {
      if (this.#open.has(started)) this.#running.set(started, performance.now());
      return;
    }
    const id = (message as { id?: unknown } | null)?.id;
    const fetchDone = typeof id === 'number' ? this.#fetches.get(id) : undefined;
    if (fetchDone) {
      const parsed = fetchReplySchema.safeParse(message);
      this.#fetches.delete(id as number);
      fetchDone(parsed.success ? parsed.data : null);
      if (this.#open.size === 0 && this.#fetches.size === 0) this.#worker?.ref(false);
      return;
    }
    const reply = workerReplySchema.safeParse(message);
    if (!reply.success) return;
    const call = this.#open.get(reply.data.id);
    this.#running.delete(reply.data.id);
    if (!call) return; // a cancelled call the worker had already started
    this.#open.delete(reply.data.id);
    if (reply.data.ok) call.resolve(reply.data.value);
    else call.reject(new Error(reply.data.message));
    if (this.#open.size === 0 && this.#fetches.size === 0) this.#worker?.ref(false);
  }

  /** The worker is gone: every open call fails, and the next call starts a new worker. */
  #lost(worker: KeychainWorker, reason: string): void {
    if (this.#worker !== worker) return;
    this.#worker = null;
    this.#settleStart(new TokentrayError('keychain_unavailable', reason, { retryable: true }));
    const calls = [...this.#open.values()];
    this.#open.clear();
    this.#running.clear();
    for (const call of calls) call.reject(new TokentrayError('keychain_unavailable', reason, { retryable: true }));
    const fetches = [...this.#fetches.values()];
    this.#fetches.clear();
    for (const done of fetches) done(null);
  }

  #settleStart(error?: TokentrayError): void {
    const started = this.#started;
    if (!started) return;
    this.#started = null;
    clearTimeout(started.timer);
    if (error) started.reject(error);
    else started.resolve();
  }

  /**
   * The worker is wedged (e.g. in a D-Bus call that never returns): replace it. Wedged means a
   * call it started has run for stuckAfterMs (it says when it starts one), or it has said
   * nothing at all for that long with calls open. A call that waits its turn in a deep queue
   * (10,000 accounts read at start) is not a sign: killing a busy worker dropped its D-Bus
   * connections mid-request, which can make gnome-keyring abort. O(running calls) per check.
   */
  #checkStuck(): void {
    if (this.#open.size === 0) return;
    const now = performance.now();
    let hung = false;
    for (const startedAt of this.#running.values()) if (now - startedAt > this.#stuckAfterMs) hung = true;
    let silent = false;
    if (!hung && now - this.#lastHeard > this.#stuckAfterMs) {
      let oldest = Infinity;
      for (const call of this.#open.values()) oldest = Math.min(oldest, call.sentAt);
      silent = now - oldest > this.#stuckAfterMs;
    }
    if (this.#worker && (hung || silent)) {
      const worker = this.#worker;
      this.#lost(worker, `the keychain process did not answer for ${Math.round(this.#stuckAfterMs / 1000)} s and was restarted`);
      worker.kill();
    }
  }

  /** Every call stays in #inFlight until the worker answers it (a cancelled one too) or is lost. */
  async settle(maxMs: number): Promise<void> {
    if (this.#inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    let capped = false;
    const cap = new Promise<void>((resolve) => { timer = setTimeout(() => { capped = true; resolve(); }, maxMs); });
    // A call that waited for the start is sent after it: look again until nothing is open.
    while (this.#inFlight.size > 0 && !capped) await Promise.race([Promise.allSettled([...this.#inFlight]), cap]);
    clearTimeout(timer);
  }

  /**
   * The keyring's constructor connects to D-Bus synchronously: on a bus that accepts the
   * connection and never answers it blocks the keychain process. So on Linux we first ask the
   * Secret Service for a ping over a connection of our own (asynchronous, under the deadline),
   * and say why in plain words. Once it answered, calls go straight to the keychain process
   * until one fails because the keyring is not there: then the next call asks again. While it
   * is away, the connection stays open and the bus says when it is back (onReturn).
   */
  async #checkBus(): Promise<void> {
    if (this.#platform !== 'linux' || this.#busChecked) return;
    const address = process.env['DBUS_SESSION_BUS_ADDRESS'];
    if (!address) {
      throw new TokentrayError('keychain_unavailable', 'no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set), so no Secret Service', { retryable: true });
    }
    // One ping answers the calls that wait for it, and a failure answers those of the next
    // second — or, when the bus will tell us of the Secret Service's return, those of the next
    // 30 s (a safety net; the announcement clears it at once).
    if (this.#busFailure && performance.now() < this.#busFailure.until) throw this.#busFailure.error;
    this.#busCheck ??= this.#ping(address).then(
      () => {
        this.#busChecked = true;
        this.#busFailure = null;
      },
      (error: unknown) => {
        this.#busFailure = { error, until: performance.now() + (this.watchingForReturn ? BUS_WATCHED_RECHECK_MS : BUS_RECHECK_MS) };
        throw error;
      },
    ).finally(() => {
      this.#busCheck = null;
    });
    await this.#busCheck;
  }

  async #ping(address: string): Promise<void> {
    try {
      await this.#watch(address).ping(this.#timeoutMs);
    } catch (error) {
      // An address kind our connection cannot use (not a Unix socket): dbus-send knows them all.
      if (error instanceof BusError && error.busName === 'unsupported') return pingSecretService(this.#timeoutMs);
      throw new TokentrayError('keychain_unavailable', `the Secret Service does not answer on the session bus: ${(error as Error).message}`, { cause: error, retryable: true });
    }
  }

  #watch(address: string): SecretServiceBus {
    if (this.#secretService) return this.#secretService;
    const watch = new SecretServiceBus(address);
    // Our connection ended while we waited (the bus restarted): the next call asks the bus again.
    watch.onLost(() => {
      this.#busChecked = false;
      this.#busFailure = null;
    });
    watch.onReturn(() => {
      this.#busChecked = false;
      this.#busFailure = null;
      for (const listener of this.#returned) listener();
    });
    this.#secretService = watch;
    return watch;
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

function headerList(headers: Headers): Array<[string, string]> {
  const list: Array<[string, string]> = [];
  headers.forEach((value, name) => list.push([name, value]));
  return list;
}
