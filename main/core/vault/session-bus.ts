// One connection to the D-Bus session bus, for the broker's own questions about the Secret
// Service (secret-service-bus.ts): is it there, and tell me when it comes back. The keychain
// calls themselves stay in the keychain process (keychain-worker.ts); this connection never
// carries a secret. Unix-socket addresses with EXTERNAL authentication, as every Linux
// session bus offers; anything else is `unsupported` and the caller falls back.
import { connect, type Socket } from 'node:net';
import { decodeMessage, encodeCall, MAX_MESSAGE_BYTES, MESSAGE_TYPE, messageLength, type BusMessage, type OutgoingCall } from './dbus-wire.ts';

/** Why a bus call failed: the bus's error name where it answered with one. */
export class BusError extends Error {
  readonly busName: string | null;

  constructor(message: string, busName: string | null = null) {
    super(message);
    this.busName = busName;
    this.name = 'BusError';
  }
}

/** Socket paths to try for a D-Bus address (`unix:path=…` or `unix:abstract=…`, `;`-separated), in order. */
export function unixSocketsOf(address: string): string[] {
  const paths: string[] = [];
  for (const entry of address.split(';')) {
    const colon = entry.indexOf(':');
    if (colon < 0 || entry.slice(0, colon) !== 'unix') continue;
    const keys = new Map(entry.slice(colon + 1).split(',').map((pair) => {
      const eq = pair.indexOf('=');
      return [pair.slice(0, eq), unescapeValue(pair.slice(eq + 1))] as const;
    }));
    const path = keys.get('path');
    const abstract = keys.get('abstract');
    if (path) paths.push(path);
    else if (abstract && process.platform === 'linux') paths.push(`\0${abstract}`);
  }
  return paths;
}

function unescapeValue(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

interface PendingCall {
  resolve: (body: unknown[]) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * An authenticated connection (EXTERNAL, then Hello). Every call has a deadline: a bus that
 * accepts the connection and never answers fails the call, never hangs it. The socket holds
 * the event loop only while a call is open.
 */
export class SessionBus {
  readonly #socket: Socket;
  readonly #pending = new Map<number, PendingCall>();
  readonly #signalListeners = new Set<(message: BusMessage) => void>();
  readonly #closeListeners = new Set<(reason: string) => void>();
  #serial = 1;
  #buffered: Buffer = Buffer.alloc(0);
  #closed: string | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', (error) => this.#close(`the session bus connection failed: ${error.message}`));
    socket.on('close', () => this.#close('the session bus closed the connection'));
  }

  /** Connects to the first address that accepts, authenticates and says Hello, within `timeoutMs`. */
  static async connect(address: string, timeoutMs: number): Promise<SessionBus> {
    const paths = unixSocketsOf(address);
    if (paths.length === 0) throw new BusError(`unsupported session bus address "${address}" (only unix sockets)`, 'unsupported');
    let last: unknown = null;
    for (const path of paths) {
      try {
        const socket = await authenticated(path, timeoutMs);
        const bus = new SessionBus(socket);
        await bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello' }, timeoutMs);
        return bus;
      } catch (error) {
        last = error;
      }
    }
    throw last instanceof Error ? last : new BusError(String(last));
  }

  get closed(): boolean {
    return this.#closed !== null;
  }

  /** A method call; resolves with the reply's body, rejects with a BusError (the bus's error name) or on the deadline. */
  call(call: OutgoingCall, timeoutMs: number): Promise<unknown[]> {
    if (this.#closed) return Promise.reject(new BusError(this.#closed));
    const serial = this.#serial++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(serial);
        this.#holdLoop();
        reject(new BusError(`${call.destination} did not answer ${call.member} within ${timeoutMs} ms`, 'timeout'));
      }, timeoutMs);
      this.#pending.set(serial, { resolve, reject, timer });
      this.#holdLoop();
      this.#socket.write(encodeCall(serial, call));
    });
  }

  onSignal(listener: (message: BusMessage) => void): void {
    this.#signalListeners.add(listener);
  }

  onClose(listener: (reason: string) => void): void {
    this.#closeListeners.add(listener);
  }

  close(): void {
    this.#close('closed');
    this.#socket.destroy();
  }

  #holdLoop(): void {
    if (this.#pending.size > 0) this.#socket.ref();
    else this.#socket.unref();
  }

  #receive(chunk: Buffer): void {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    try {
      for (;;) {
        const length = messageLength(this.#buffered);
        if (length === null || this.#buffered.length < length) break;
        if (length > MAX_MESSAGE_BYTES) throw new Error(`a ${length}-byte message`);
        const message = decodeMessage(this.#buffered.subarray(0, length));
        this.#buffered = this.#buffered.subarray(length);
        this.#dispatch(message);
      }
      if (this.#buffered.length >= 16 && (messageLength(this.#buffered) ?? 0) > MAX_MESSAGE_BYTES) throw new Error('an oversized message');
    } catch (error) {
      this.#close(`the session bus sent what is not D-Bus: ${(error as Error).message}`);
      this.#socket.destroy();
    }
  }

  #dispatch(message: BusMessage): void {
    if (message.type === MESSAGE_TYPE.signal) {
      for (const listener of this.#signalListeners) listener(message);
      return;
    }
    if (message.type !== MESSAGE_TYPE.methodReturn && message.type !== MESSAGE_TYPE.error) return;
    const call = message.replySerial === null ? undefined : this.#pending.get(message.replySerial);
    if (!call) return;
    this.#pending.delete(message.replySerial!);
    clearTimeout(call.timer);
    this.#holdLoop();
    if (message.type === MESSAGE_TYPE.methodReturn) call.resolve(message.body);
    else call.reject(new BusError(`${message.errorName ?? 'error'}: ${typeof message.body[0] === 'string' ? message.body[0] : 'no message'}`, message.errorName));
  }

  #close(reason: string): void {
    if (this.#closed) return;
    this.#closed = reason;
    for (const [, call] of this.#pending) {
      clearTimeout(call.timer);
      call.reject(new BusError(reason));
    }
    this.#pending.clear();
    this.#socket.unref();
    for (const listener of this.#closeListeners) listener(reason);
  }
}

/** A socket past the EXTERNAL handshake (the bus knows us by our uid), ready for Hello. */
function authenticated(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path });
    let answer = '';
    const settle = (error: Error | null) => {
      clearTimeout(timer);
      socket.off('data', onData).off('error', onError).off('close', onClose);
      if (!error) return resolve(socket);
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(() => settle(new BusError(`the session bus did not answer within ${timeoutMs} ms`, 'timeout')), timeoutMs);
    const onError = (error: Error) => settle(new BusError(`cannot connect to the session bus: ${error.message}`));
    const onClose = () => settle(new BusError('the session bus closed the connection during the handshake'));
    const onData = (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      const end = answer.indexOf('\r\n');
      if (end < 0) {
        if (answer.length > 512) settle(new BusError('the session bus answered the handshake with too much'));
        return;
      }
      const line = answer.slice(0, end);
      if (!line.startsWith('OK ') || end + 2 !== answer.length) return settle(new BusError(`the session bus refused us: ${line.slice(0, 80)}`));
      socket.write('BEGIN\r\n');
      settle(null);
    };
    socket.on('data', onData).on('error', onError).on('close', onClose);
    socket.once('connect', () => {
      const uid = String(process.getuid?.() ?? 0);
      socket.write(`\0AUTH EXTERNAL ${Buffer.from(uid, 'ascii').toString('hex')}\r\n`);
    });
  });
}
