// The keychain process: a child of the broker that makes every `@napi-rs/keyring` call, so the
// broker itself holds no D-Bus connection, and no native keychain call can ever stall its event
// loop or see the broker's descriptor numbers (the library's `select()` spins once a descriptor
// passes 1,024).
//
// Why a process of its own, and why fresh entries: each `AsyncEntry` opens its own D-Bus
// connection in its constructor and keeps it until the entry is garbage-collected; there is no
// close(). A cache of entries per item name therefore held one connection per name forever
// (one more per refresh, as chunk names carry a generation). Here only the RECENT most recently
// used entries are kept (a connection costs a handshake and a key exchange, so a record's
// header and chunks reuse theirs), at most MAX_CONCURRENT calls run at once, and after every
// GC_EVERY dropped entries the process runs a full GC, which closes their connections: the
// connection count stays within RECENT + MAX_CONCURRENT + GC_EVERY + MAX_CONCURRENT (entries
// held by a running call outlive one GC) whatever the number of accounts, refreshes or tools.
// Self-contained on purpose (no project imports at run time): it starts fast.
import { AsyncEntry } from '@napi-rs/keyring';

const RECENT = 8;
const MAX_CONCURRENT = 4;
const GC_EVERY = 8;

/** What the broker sends: a keychain call, or the cancellation of one (keychain-store.ts). */
export interface KeychainRequest {
  id: number;
  op: 'get' | 'set' | 'delete';
  name: string;
  value?: string;
}
export type KeychainMessage = KeychainRequest | { cancel: number };
type Request = KeychainRequest;

// The service name: the first argument under Node's fork; the environment under Electron's
// utilityProcess, whose argv layout is Electron's to choose.
const service = process.env['TOKENTRAY_KEYCHAIN_WORKER_SERVICE'] || process.argv[2];
const gc = (globalThis as { gc?: () => void }).gc;

/**
 * How this process talks to the broker: Node's IPC channel under `fork`, or Electron's
 * `process.parentPort` when a packaged app (RunAsNode fuse off) starts it with
 * `utilityProcess.fork` — the same messages either way.
 */
interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
const channel = parentPort
  ? { onMessage: (listener: (message: unknown) => void) => parentPort.on('message', (event) => listener(event.data)), send: (message: unknown) => parentPort.postMessage(message), connected: () => true }
  : { onMessage: (listener: (message: unknown) => void) => process.on('message', listener), send: (message: unknown) => process.send?.(message), connected: () => process.connected };
if (!service || (!parentPort && !process.send)) {
  console.error('keychain-worker: start it with fork(file, [service]) and an IPC channel');
  process.exit(2);
}

const waiting: Request[] = [];
const cancelled = new Set<number>();
/** Item names with a call running: calls on one name run in the order they were sent. */
const busyNames = new Set<string>();
let running = 0;
let droppedSinceGc = 0;
/** Entries by item name, least recently used first (a Map keeps insertion order). */
const entries = new Map<string, AsyncEntry>();
/**
 * Entries with a call running, held here until it is answered: if a GC collected one mid-call,
 * its connection would close with a request open, and gnome-keyring aborts when a client leaves
 * mid-request (https://github.com/basecamp/hey-cli/issues/352).
 */
const inUse = new Set<AsyncEntry>();

function entryFor(name: string): AsyncEntry {
  let entry = entries.get(name);
  if (entry) entries.delete(name);
  else entry = new AsyncEntry(service!, name, { linux: { store: 'secret-service' } });
  entries.set(name, entry);
  for (const oldest of entries.keys()) {
    if (entries.size <= RECENT) break;
    entries.delete(oldest);
    droppedSinceGc++;
  }
  return entry;
}

channel.onMessage((raw) => {
  const message = raw as KeychainMessage;
  if ('cancel' in message) {
    cancelled.add(message.cancel);
  } else {
    waiting.push(message);
  }
  pump();
});

// The broker went away: finish what runs (gnome-keyring can abort when a client leaves
// mid-request), then leave. (A utility process is ended by Electron with its parent.)
process.on('disconnect', () => {
  waiting.length = 0;
  const leaveWhenIdle = (): void => {
    if (running === 0) process.exit(0);
    else setTimeout(leaveWhenIdle, 20);
  };
  leaveWhenIdle();
});

function pump(): void {
  for (let i = 0; i < waiting.length && running < MAX_CONCURRENT; ) {
    const request = waiting[i]!;
    if (cancelled.delete(request.id)) {
      waiting.splice(i, 1);
      reply({ id: request.id, ok: false, message: 'cancelled before it started: its deadline had passed' });
      continue;
    }
    if (busyNames.has(request.name)) {
      i++;
      continue;
    }
    waiting.splice(i, 1);
    void run(request);
  }
}

async function run(request: Request): Promise<void> {
  running++;
  busyNames.add(request.name);
  try {
    const value = await call(request);
    reply({ id: request.id, ok: true, value });
  } catch (error) {
    reply({ id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) });
  } finally {
    running--;
    busyNames.delete(request.name);
    cancelled.delete(request.id);
    if (droppedSinceGc >= GC_EVERY && gc) {
      droppedSinceGc = 0;
      gc();
    }
    pump();
  }
}

async function call(request: Request): Promise<string | boolean | null> {
  const entry = entryFor(request.name);
  inUse.add(entry);
  try {
    return await callOn(entry, request);
  } finally {
    inUse.delete(entry);
  }
}

async function callOn(entry: AsyncEntry, request: Request): Promise<string | boolean | null> {
  switch (request.op) {
    case 'get': {
      const bytes = await entry.getSecret();
      return bytes === null ? null : Buffer.from(bytes).toString('utf8');
    }
    case 'set':
      await entry.setSecret(Buffer.from(request.value ?? '', 'utf8'));
      return null;
    case 'delete':
      return entry.deleteCredential();
  }
}

function reply(message: unknown): void {
  if (channel.connected()) channel.send(message);
}
