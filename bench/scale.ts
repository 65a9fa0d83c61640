// Many accounts on one broker (client credentials on the provider fixture, created through the
// core directly to save time, records on the real keychain), then `tokentray serve` on them:
// start → ready, RSS, idle CPU and provider requests while idle, GET /v1/accounts against a bare
// server answering the same bytes, and every account refreshing at once.
import { execFile } from 'node:child_process';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AccountStore, STATE_WRITE_DELAY_MS } from '../main/core/accounts/account-store.ts';
import { Broker } from '../main/core/broker/broker.ts';
import { createLogger } from '../main/core/log/logger.ts';
import { Vault } from '../main/core/vault/vault.ts';
import { freshHome, startDaemon, type Daemon } from '../test/fixtures/daemon.ts';
import { privateService, realKeychain } from '../test/fixtures/keychain.ts';
import { TestProvider } from '../test/fixtures/provider/test-provider.ts';
import { startBare, type Bare } from './bare.ts';
import { load } from './load.ts';
import { procStat } from './proc-stat.ts';
import { watchValidExpired, type ValidExpired, type ValidExpiredWatch } from './valid-expired.ts';

export interface ScaleResult {
  accounts: number;
  createMs: number;
  startMs: number;
  /** Until every account's record was read and its refresh planned (in the background). */
  checkedMs: number;
  emptyStartMs: number;
  rssMb: number;
  emptyRssMb: number;
  idleCpuPercent: number;
  idleSeconds: number;
  /** Before the idle window: the seconds after the last request, and the CPU they took (the tail of the work before). */
  settleSeconds: number;
  settleCpuPercent: number;
  idleProviderRequests: number;
  /** Memory-only mode: idle CPU of the broker restarted on the same accounts (every record lost, each account waiting for the keychain). */
  restartIdleCpuPercent: number | null;
  /** Memory-only mode: the seconds before that idle window (the start-up check's tail), and their CPU. */
  restartSettleSeconds: number;
  restartSettleCpuPercent: number;
  /** Memory-only mode: what the restarted broker's accounts say (status × count), and how it answers a token request. */
  restart: { statuses: string; valid: number; tokenStatus: number; tokenCode: string } | null;
  /** Accounts listed `valid` with an expired access token, sampled every second outside the idle and list-latency windows. */
  validExpired: ValidExpired;
  listP99Ms: number;
  bareListP99Ms: number;
  refreshAllMs: number;
  refreshFailures: number;
  providerPeakInFlight: number;
  /** 1,000 concurrent refresh requests on one account: provider requests, and time until all were answered. */
  fanInRequests: number;
  fanInMs: number;
  fanInFailures: number;
  /** Refreshes that fell due together (all issued in the refresh-all): the busiest second's share of them, and how many came. */
  spread: { ttlSeconds: number; refreshes: number; busiestSecond: number; busiestShare: number; overSeconds: number } | null;
}

async function timedStart(home: string, service: string, env: NodeJS.ProcessEnv): Promise<{ daemon: Daemon; ms: number }> {
  const started = performance.now();
  const daemon = await startDaemon({ home, service, env });
  return { daemon, ms: performance.now() - started };
}

/** p99 latency of one client asking again and again (the window, a script listing accounts). */
async function p99(base: string, key: string, seconds: number): Promise<number> {
  const measured = await load({ url: base }, '/v1/accounts', key, seconds, 1);
  if (measured.errors > 0) throw new Error(`${base}/v1/accounts: ${measured.errors} failed requests`);
  return measured.p99;
}

/**
 * gnome-keyring re-encrypts and rewrites its whole keyring file on every write, so a write costs
 * O(items): 29 ms at 50 items, 125 ms at 2,300 here, which would make creating 10,000 accounts
 * take ≈ 40 minutes and one refresh of all of them over an hour, whatever the broker does. With
 * `sessionKeyring` the items go to gnome-keyring's in-memory "session" collection instead (the
 * same daemon, D-Bus and encrypted sessions; no file): only inside the private session that
 * `npm run bench` starts, never a person's own keyring.
 */
async function useSessionCollection(): Promise<void> {
  if (process.env['TOKENTRAY_TEST_SESSION'] !== '1') throw new Error('--keyring=session changes the keyring\'s default collection: it runs only in the private session npm run bench starts (none was started: this shell has a Secret Service of its own)');
  await promisify(execFile)('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.secrets', '/org/freedesktop/secrets', 'org.freedesktop.Secret.Service.SetAlias', 'string:default', 'objpath:/org/freedesktop/secrets/collection/session']);
}

/**
 * Where the records live: `file`, the keyring's default collection (a file gnome-keyring
 * rewrites on every write); `session`, its in-memory collection (above); `none`, no Secret
 * Service at all — memory-only mode, a real mode of the product, where the broker holds the
 * records and the keychain's own cost is out of the measurement (10,000 accounts: see
 * docs/BENCHMARKS.md). With `none` the accounts are created through the running broker's API
 * (secrets in memory do not survive a restart), and start → ready is a second broker started
 * on a copy of the same home: what a restart with N definitions costs.
 */
export type KeyringMode = 'file' | 'session' | 'none';

/** A session bus address that answers nothing: no Secret Service, memory-only mode. */
const NO_KEYCHAIN_ENV = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/tokentray-bench-bus' };

async function createThroughCore(home: string, service: string, ids: string[], op: TestProvider): Promise<void> {
  const { logger, redactor } = createLogger({ level: 'warn' });
  const accounts = new AccountStore({ home, logger });
  await accounts.load();
  const vault = new Vault({ store: realKeychain(service), logger, redactor });
  const broker = new Broker({ accounts, vault, logger, watchSleep: false });
  for (let i = 0; i < ids.length; i += 8) {
    await Promise.all(ids.slice(i, i + 8).map(async (id) => {
      await broker.addAccount({ id, name: id, flow: 'client-credentials', provider: { tokenEndpoint: op.tokenEndpoint }, clientId: op.confidentialClient.client_id, scopes: ['api:read'] }, { clientSecret: op.confidentialClient.client_secret });
      await broker.signIn(id);
    }));
  }
  broker.stop();
  await accounts.flush();
  await vault.settle();
}

async function createThroughApi(daemon: Daemon, ids: string[], op: TestProvider): Promise<void> {
  const headers = { authorization: `Bearer ${daemon.key}`, 'content-type': 'application/json' };
  const ask = async (path: string, init: RequestInit, expected: number) => {
    const res = await fetch(`${daemon.url}${path}`, { ...init, headers });
    if (res.status !== expected) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };
  // 64 at a time: the broker writes accounts.json once per batch of changes (group commit),
  // and a file of 10,000 definitions is ≈ 7 MB, so small batches would make creation quadratic.
  for (let i = 0; i < ids.length; i += 64) {
    await Promise.all(ids.slice(i, i + 64).map(async (id) => {
      await ask('/v1/accounts', { method: 'POST', body: JSON.stringify({ id, name: id, flow: 'client-credentials', tokenEndpoint: op.tokenEndpoint, clientId: op.confidentialClient.client_id, clientSecret: op.confidentialClient.client_secret, scopes: ['api:read'] }) }, 201);
      await ask(`/v1/accounts/${id}/login`, { method: 'POST', body: '{}' }, 200);
    }));
  }
}

/** `work` for each item, at most `limit` at once; the answers in order. */
async function inFlight<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** Waits until the broker's accounts file (written in batches) holds `count` accounts. */
async function written(file: string, count: number): Promise<void> {
  const by = Date.now() + 60_000;
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const held = text ? (JSON.parse(text) as { accounts: unknown[] }).accounts.length : 0;
    if (held === count) return;
    if (Date.now() > by) throw new Error(`${file} holds ${held} of ${count} accounts after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The CPU a process spends over `seconds` of doing nothing asked of it, in % of a core. */
async function idleCpu(pid: number, seconds: number): Promise<number> {
  const from = procStat(pid);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  return (procStat(pid).cpuTicks - from.cpuTicks) / seconds; // ticks/s at 100 Hz = % of a core
}

/** What a broker restarted in memory-only mode says: its accounts' statuses, and a token request's answer. */
async function restartedSays(daemon: Daemon, id: string): Promise<NonNullable<ScaleResult['restart']>> {
  const headers = { authorization: `Bearer ${daemon.key}` };
  const listed = (await (await fetch(`${daemon.url}/v1/accounts`, { headers })).json()) as { accounts: Array<{ status: string; lastError: { code: string } | null }> };
  const counts = Object.entries(Object.groupBy(listed.accounts, (a) => `${a.status}${a.lastError ? ` (${a.lastError.code})` : ''}`));
  const token = await fetch(`${daemon.url}/v1/accounts/${id}/token`, { headers });
  const body = (await token.json()) as { error?: { code?: string } };
  return {
    statuses: counts.map(([said, list]) => `${list!.length} × ${said}`).join(', '),
    valid: listed.accounts.filter((a) => a.status === 'valid').length,
    tokenStatus: token.status,
    tokenCode: body.error?.code ?? 'a token',
  };
}

/** Waits for the start-up check of every account (each record read, each refresh planned). */
async function checked(daemon: Daemon): Promise<void> {
  const by = Date.now() + 300_000;
  while (!/every account checked/.test(daemon.output()) && Date.now() < by) await new Promise((resolve) => setTimeout(resolve, 200));
}

export async function measureScale(options: { accounts: number; idleSeconds: number; settleSeconds?: number; loadSeconds: number; spreadTtlSeconds?: number; keyring?: KeyringMode }): Promise<ScaleResult> {
  const keyring = options.keyring ?? 'file';
  if (keyring === 'session') await useSessionCollection();
  // The product's own log level (the test fixture's is debug): idle CPU is what a person's broker spends.
  const env = { TOKENTRAY_LOG_LEVEL: 'info', ...(keyring === 'none' ? NO_KEYCHAIN_ENV : {}) };
  const op = await TestProvider.start({ clientCredentialsTtl: 3600 });
  const home = await freshHome();
  const service = privateService('scale');
  const daemons: Daemon[] = [];
  const watches: ValidExpiredWatch[] = [];
  let bare: Bare | null = null;
  try {
    const note = (line: string) => console.log(`# scale, ${options.accounts} accounts: ${line}`); // long runs show where they are
    const ids = Array.from({ length: options.accounts }, (_, i) => `svc-${String(i).padStart(5, '0')}`);
    const empty = await timedStart(await freshHome(), privateService('scale-empty'), env);
    daemons.push(empty.daemon);
    const emptyRssMb = procStat(empty.daemon.pid).rssMb;
    await empty.daemon.cleanup();

    // Created through the core (add + first token, eight at a time), or through the broker's
    // API in memory-only mode; then measured on a broker that has just started on them.
    const created = performance.now();
    const createdIn = () => {
      const ms = performance.now() - created;
      note(`created in ${(ms / 1000).toFixed(0)} s`);
      return ms;
    };
    let daemon: Daemon;
    let createMs: number;
    let startMs: number;
    let checkedMs: number;
    let restartIdleCpuPercent: number | null = null;
    let restartSettleSeconds = 0;
    let restartSettleCpuPercent = 0;
    let restart: ScaleResult['restart'] = null;
    if (keyring === 'none') {
      daemon = await startDaemon({ home, service, env });
      daemons.push(daemon);
      await createThroughApi(daemon, ids, op);
      createMs = createdIn();
      const copy = await freshHome();
      await written(join(home, 'accounts.json'), ids.length);
      await cp(join(home, 'accounts.json'), join(copy, 'accounts.json'));
      const restarted = performance.now();
      const again = await timedStart(copy, privateService('scale-restart'), env);
      daemons.push(again.daemon);
      const listed = await fetch(`${again.daemon.url}/v1/accounts`, { headers: { authorization: `Bearer ${again.daemon.key}` } });
      const count = ((await listed.json()) as { accounts: unknown[] }).accounts.length;
      if (count !== ids.length) throw new Error(`the restarted broker lists ${count} of ${ids.length} accounts`);
      startMs = again.ms;
      await checked(again.daemon);
      checkedMs = performance.now() - restarted;
      // Every token lived in memory only: no account may say `valid`, and a token request is
      // told the keychain is what it waits for (503 + Retry-After), never a 500.
      restart = await restartedSays(again.daemon, ids[0]!);
      note(`restarted broker: ${restart.statuses}; a token request answers ${restart.tokenStatus} ${restart.tokenCode}`);
      // Past the tail of the start-up check: its status changes (every account, valid → expired)
      // reach accounts.json within STATE_WRITE_DELAY_MS, and the memory trim follows that write
      // by 30–60 s; the same settle as the first broker's after it.
      restartSettleSeconds = options.settleSeconds ? STATE_WRITE_DELAY_MS / 1000 + options.settleSeconds : 1;
      restartSettleCpuPercent = await idleCpu(again.daemon.pid, restartSettleSeconds);
      restartIdleCpuPercent = await idleCpu(again.daemon.pid, options.idleSeconds);
      note(`restarted broker idle ${options.idleSeconds} s: ${restartIdleCpuPercent.toFixed(2)} % of a core (${restartSettleCpuPercent.toFixed(2)} % in the ${restartSettleSeconds} s before)`);
      await again.daemon.cleanup();
    } else {
      await createThroughCore(home, service, ids, op);
      createMs = createdIn();
      const started = performance.now();
      const timed = await timedStart(home, service, env);
      daemon = timed.daemon;
      startMs = timed.ms;
      daemons.push(daemon);
      await checked(daemon);
      checkedMs = performance.now() - started;
    }
    const headers = { authorization: `Bearer ${daemon.key}` };
    // Sampled from here to the end, paused while idle CPU or the list's latency is measured.
    const watch = watchValidExpired(daemon.url, daemon.key, { paused: true });
    watches.push(watch);
    // Ready means every account answers: one token each (from the keychain, or from memory).
    const first = await fetch(`${daemon.url}/v1/accounts/${ids[0]}/token`, { headers });
    if (first.status !== 200) throw new Error(`token route answered ${first.status}`);
    note(`started in ${(startMs / 1000).toFixed(2)} s, every account checked after ${(checkedMs / 1000).toFixed(1)} s`);
    // Idle is a broker at rest: the window starts settleSeconds after the last request, past the
    // tail of the work before it (its memory trim comes 30–60 s after the last activity); what
    // that tail cost is reported on its own.
    const settleCpuPercent = await idleCpu(daemon.pid, options.settleSeconds ?? 1);
    if (options.settleSeconds) note(`settled for ${options.settleSeconds} s after the last request: ${settleCpuPercent.toFixed(2)} % of a core`);
    const requestsBefore = op.requests('client_credentials');
    const idleCpuPercent = await idleCpu(daemon.pid, options.idleSeconds);
    const rssMb = procStat(daemon.pid).rssMb; // before any load: what the accounts cost
    const idleProviderRequests = op.requests('client_credentials') - requestsBefore;
    note(`idle ${options.idleSeconds} s: ${idleCpuPercent.toFixed(2)} % of a core, ${idleProviderRequests} provider requests, RSS ${rssMb.toFixed(0)} MB`);

    const listing = await fetch(`${daemon.url}/v1/accounts`, { headers });
    const listBody = await listing.text();
    bare = await startBare(listBody, Object.fromEntries(listing.headers));
    const bareUrl = bare.url;
    const bareListP99Ms = await p99(bareUrl, daemon.key, options.loadSeconds);
    const listP99Ms = await p99(daemon.url, daemon.key, options.loadSeconds);
    note(`GET /v1/accounts p99 ${listP99Ms} ms (bare ${bareListP99Ms} ms, ${listBody.length} bytes)`);
    watch.resume();

    // Every account refreshing at once, as after a long sleep. With spreadTtlSeconds, the tokens
    // it issues live that long, so their next refreshes fall due together (measured below).
    if (options.spreadTtlSeconds) op.settings.clientCredentialsTtl = options.spreadTtlSeconds;
    op.counters.peakInFlight = 0;
    const refreshStarted = performance.now();
    // At most 1,000 requests in flight: 10,000 connections at once overflow the listen backlog
    // and time out in the client's connect, which measures the bench, not the broker.
    const answers = await inFlight(ids, 1_000, (id) => fetch(`${daemon.url}/v1/accounts/${id}/refresh`, { method: 'POST', headers }).then((r) => r.status, () => 0));
    const refreshAllMs = performance.now() - refreshStarted;
    const statuses = Object.entries(Object.groupBy(answers.filter((s) => s !== 200), String)).map(([status, list]) => `${list!.length} × ${status === '0' ? 'no answer' : status}`).join(', ');
    note(`all refreshed at once in ${(refreshAllMs / 1000).toFixed(1)} s, ${answers.filter((s) => s !== 200).length} failed${statuses ? ` (${statuses})` : ''}, peak ${op.counters.peakInFlight} at the provider`);

    // Fan-in: a thousand tools asking one account for a refresh at once join one refresh (the
    // provider takes 1.5 s to answer it, so every request arrives while it is in flight).
    await op.setFault({ mode: 'delay', delayMs: 1_500, times: 1 });
    const fanInBefore = op.requests('client_credentials');
    const fanInStarted = performance.now();
    const fanIn = await Promise.all(Array.from({ length: 1000 }, () => fetch(`${daemon.url}/v1/accounts/${ids[0]}/refresh`, { method: 'POST', headers }).then((r) => r.status, () => 0)));
    const fanInMs = performance.now() - fanInStarted;
    const fanInRequests = op.requests('client_credentials') - fanInBefore; // before the spread phase's refreshes

    // The refresh-all issued every token within refreshAllMs: wait for the next refresh of each
    // (≈ 60–80 % of the lifetime later) and count them per second at the provider.
    let spread: ScaleResult['spread'] = null;
    if (options.spreadTtlSeconds) {
      const issuedTo = Date.now();
      const from = issuedTo - refreshAllMs - fanInMs + (options.spreadTtlSeconds * 1000) / 3;
      const until = issuedTo + options.spreadTtlSeconds * 1000 * 0.85;
      while (Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 1_000));
      const times = (op.requestTimes['client_credentials'] ?? []).filter((t) => t >= from && t <= until);
      const perSecond = new Map<number, number>();
      for (const t of times) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
      const busiestSecond = Math.max(0, ...perSecond.values());
      const seconds = [...perSecond.keys()];
      spread = { ttlSeconds: options.spreadTtlSeconds, refreshes: times.length, busiestSecond, busiestShare: busiestSecond / options.accounts, overSeconds: seconds.length ? Math.max(...seconds) - Math.min(...seconds) + 1 : 0 };
    }

    const validExpired = await watch.stop();
    note(`valid with an expired access token: ${validExpired.validExpired} in ${validExpired.samples} samples`);
    return {
      accounts: options.accounts,
      createMs,
      startMs,
      checkedMs,
      emptyStartMs: empty.ms,
      rssMb,
      emptyRssMb,
      idleCpuPercent,
      idleSeconds: options.idleSeconds,
      settleSeconds: options.settleSeconds ?? 1,
      settleCpuPercent,
      idleProviderRequests,
      restartIdleCpuPercent,
      restartSettleSeconds,
      restartSettleCpuPercent,
      restart,
      validExpired,
      listP99Ms,
      bareListP99Ms,
      refreshAllMs,
      refreshFailures: answers.filter((s) => s !== 200).length,
      providerPeakInFlight: op.counters.peakInFlight,
      fanInRequests,
      fanInMs,
      fanInFailures: fanIn.filter((s) => s !== 200).length,
      spread,
    };
  } finally {
    for (const w of watches) await w.stop();
    bare?.stop();
    for (const d of daemons) await d.cleanup().catch(() => undefined);
    await op.close();
  }
}
