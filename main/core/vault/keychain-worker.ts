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
//
// Refresh requests go through this process too (see "fetch" below), because it outlives a
// broker that crashes: a rotated refresh token the provider issued while the broker was
// killed is not lost with it, but journalled in the keychain for the next broker.
// Almost self-contained on purpose (two small project modules at run time): it starts fast.
import { AsyncEntry } from '@napi-rs/keyring';
import { CANCELLED_BEFORE_START, JOURNAL_ITEM, type WorkerFetch, type WorkerFetchAnswer } from './keychain-protocol.ts';
import type { Journal, JournalEntry } from './refresh-journal.ts';
import { newProbe, probes } from '../oauth/request-sent.ts';
import { readBounded } from '../oauth/bounded-body.ts';
import { systemFetch, systemMs } from '../clock.ts';
import { timeoutSignal } from '../deadline.ts';
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
export type KeychainMessage = KeychainRequest | WorkerFetch | { cancel: number };
type Request = KeychainRequest;

// The service name: the first argument under Node's fork; the environment under Electron's
// utilityProcess, whose argv layout is Electron's to choose.
const service = process.env['TOKENTRAY_KEYCHAIN_WORKER_SERVICE'] || process.argv[2];
/** Where a marker file says "a dead broker's keychain process is still finishing" (see keychain-handoff.ts). */
const handoffDir = process.env['TOKENTRAY_KEYCHAIN_HANDOFF_DIR'] || null;
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
  : { onMessage: (listener: (message: unknown) => void) => process.on('message', listener), send: (message: unknown) => process.send?.(message, undefined, undefined, ignoreSendError), connected: () => process.connected };
/** A broker that was killed: a reply can no longer reach it (EPIPE), and this process goes on (see "disconnect"). */
function ignoreSendError(): void {}
process.on('error', ignoreSendError);
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
    const inFlight = fetches.get(message.cancel);
    if (inFlight) inFlight.abort();
    else cancelled.add(message.cancel);
  } else if (message.op === 'fetch') {
    void runFetch(message);
  } else {
    waiting.push(message);
  }
  pump();
});

// ---- refresh requests -----------------------------------------------------------------------

/** Refresh requests in flight, by request id (a cancel aborts one). */
const fetches = new Map<number, AbortController>();
const fetchesDone = new Set<Promise<void>>();
/**
 * Refresh answers that carried a refresh token, by account, until a write of that account's
 * record that no longer holds the spent token lands: until then the new token lives only in
 * the broker's memory, and this is what the journal keeps if the broker dies.
 */
const unsettled = new Map<string, JournalEntry>();

function runFetch(request: WorkerFetch): Promise<void> {
  const controller = new AbortController();
  fetches.set(request.id, controller);
  const done = (async () => {
    const probe = newProbe();
    try {
      const answer = await probes.run(probe, () => send(request, controller.signal, probe));
      reply({ id: request.id, ok: true, value: answer });
    } catch (error) {
      const e = error as Error & { cause?: Error & { code?: string } };
      reply({ id: request.id, ok: false, message: e.message, name: e.name, code: e.cause?.code ?? (e as { code?: string }).code ?? null, causeMessage: e.cause?.message ?? null, sent: probe.sent });
    } finally {
      fetches.delete(request.id);
    }
  })();
  fetchesDone.add(done);
  void done.then(() => fetchesDone.delete(done));
  return done;
}

async function send(request: WorkerFetch, abort: AbortSignal, probe: { sent: boolean }): Promise<WorkerFetchAnswer> {
  const { signal, done } = timeoutSignal(request.timeoutMs, abort);
  let body: string;
  let response: Response;
  try {
    response = await systemFetch(request.url, { method: request.method, headers: request.headers, body: request.body, redirect: 'manual', signal });
    body = await readBounded(response, request.maxBytes, signal);
  } finally {
    done();
  }
  if (response.status === 200) {
    // Journal what the provider issued before anyone else sees it (parsing is cheap; a body
    // that is not JSON or has no refresh token rotated nothing we could keep).
    try {
      const json = JSON.parse(body) as { refresh_token?: unknown };
      if (typeof json.refresh_token === 'string' && json.refresh_token) unsettled.set(request.account, { presented: request.presented, body, at: systemMs() });
    } catch {
      // not JSON: the broker classifies it
    }
  }
  return { status: response.status, headers: headerList(response.headers), body, sent: probe.sent };
}

/** A write of the account's record landed: a journalled answer it supersedes is settled. */
function settled(request: Request): void {
  const entry = unsettled.get(request.name);
  if (request.op === 'set' && entry && !(request.value ?? '').includes(entry.presented)) unsettled.delete(request.name);
  if (request.op === 'delete' && entry) unsettled.delete(request.name);
}

/**
 * The broker died with refresh answers it may not have written: wait for the requests still in
 * flight and the record writes it had already sent, then journal every answer still unsettled
 * in one keychain item, which the next broker applies before its first refresh. While this runs
 * the journal says so (`done: false`, with this pid), so a broker that starts meanwhile waits.
 */
async function journalUnsettled(): Promise<void> {
  const open = (): boolean => fetchesDone.size > 0 || unsettled.size > 0;
  if (!open()) return;
  const write = async (done: boolean): Promise<void> => {
    const previous = await entryFor(JOURNAL_ITEM).getSecret().then((b) => (b ? (JSON.parse(Buffer.from(b).toString('utf8')) as Journal) : null)).catch(() => null);
    const journal: Journal = { v: 1, pid: process.pid, done, entries: { ...previous?.entries, ...Object.fromEntries(unsettled) } };
    await entryFor(JOURNAL_ITEM).setSecret(Buffer.from(JSON.stringify(journal), 'utf8'));
  };
  await write(false).catch(() => undefined);
  await Promise.allSettled([...fetchesDone]);
  while (running > 0 || waiting.length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await write(true).catch((error: unknown) => console.error(`keychain-worker: could not journal ${unsettled.size} refresh answer(s): ${String(error)}`));
}

// The broker went away: finish the keychain writes it sent and the refreshes in flight
// (gnome-keyring can abort when a client leaves mid-request), journal what it could not write,
// then leave. Reads are dropped: nobody waits for them. (A utility process is ended by
// Electron with its parent.)
process.on('disconnect', () => {
  for (let i = waiting.length - 1; i >= 0; i--) if (waiting[i]!.op === 'get') waiting.splice(i, 1);
  // At once and synchronously: a broker that starts after this waits until the marker is gone,
  // so it reads the journal only once it is complete.
  const marker = handoffDir && (fetches.size > 0 || unsettled.size > 0 || waiting.length > 0 || running > 0) ? join(handoffDir, `keychain-${process.pid}.handoff`) : null;
  if (marker) {
    try {
      writeFileSync(marker, `${process.pid}\n`, { mode: 0o600 });
    } catch {
      // no marker: the journal's own "done" flag still tells a new broker to wait
    }
  }
  pump();
  void journalUnsettled().finally(() => {
    if (marker) {
      try {
        unlinkSync(marker);
      } catch {
        // already gone
      }
    }
    const leaveWhenIdle = (): void => {
      if (running === 0 && waiting.length === 0) process.exit(0);
      else setTimeout(leaveWhenIdle, 20);
    };
    leaveWhenIdle();
  });
});

function pump(): void {
  for (let i = 0; i < waiting.length && running < MAX_CONCURRENT; ) {
    const request = waiting[i]!;
    if (cancelled.delete(request.id)) {
      waiting.splice(i, 1);
      reply({ id: request.id, ok: false, message: CANCELLED_BEFORE_START });
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
  reply({ started: request.id }); // the broker tells a call that hangs from one that waits its turn
  try {
    const value = await call(request);
    settled(request);
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

/**
 * A connection whose keyring daemon or session bus went away stays broken ("The session does
 * not exist", "Connection is closed"): an entry whose call failed is dropped, and a call that
 * failed that way is tried once more on a fresh connection.
 */
const RECONNECT = /session does not exist|connection is closed|not connected|broken pipe|serviceunknown|was not provided by any|noreply|disconnected|no such object|unknownobject|connection reset/i;

async function call(request: Request): Promise<string | boolean | null> {
  try {
    return await callOnce(request);
  } catch (error) {
    if (!RECONNECT.test(error instanceof Error ? error.message : String(error))) throw error;
    return callOnce(request);
  }
}

async function callOnce(request: Request): Promise<string | boolean | null> {
  const entry = entryFor(request.name);
  inUse.add(entry);
  try {
    return await callOn(entry, request);
  } catch (error) {
    if (entries.get(request.name) === entry) {
      entries.delete(request.name);
      droppedSinceGc++;
    }
    throw error;
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

function headerList(headers: Headers): Array<[string, string]> {
  const list: Array<[string, string]> = [];
  headers.forEach((value, name) => list.push([name, value]));
  return list;
}

// Loaded: the broker's deadline for each keychain call starts now, not while this process starts.
reply({ ready: true });
