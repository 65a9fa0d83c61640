// Many accounts on one broker (client credentials on the provider fixture, created through the
// core directly to save time, records on the real keychain), then `tokentray serve` on them:
// start → ready, RSS, idle CPU and provider requests while idle, GET /v1/accounts against a bare
// server answering the same bytes, and every account refreshing at once.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AccountStore } from '../main/core/accounts/account-store.ts';
import { Broker } from '../main/core/broker/broker.ts';
import { createLogger } from '../main/core/log/logger.ts';
import { Vault } from '../main/core/vault/vault.ts';
import { freshHome, startDaemon, type Daemon } from '../test/fixtures/daemon.ts';
import { privateService, realKeychain } from '../test/fixtures/keychain.ts';
import { TestProvider } from '../test/fixtures/provider/test-provider.ts';
import { startBare, type Bare } from './bare.ts';
import { load } from './load.ts';
import { procStat } from './proc-stat.ts';

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
  idleProviderRequests: number;
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

async function timedStart(home: string, service: string): Promise<{ daemon: Daemon; ms: number }> {
  const started = performance.now();
  const daemon = await startDaemon({ home, service });
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

export async function measureScale(options: { accounts: number; idleSeconds: number; loadSeconds: number; spreadTtlSeconds?: number; sessionKeyring?: boolean }): Promise<ScaleResult> {
  if (options.sessionKeyring) await useSessionCollection();
  const op = await TestProvider.start({ clientCredentialsTtl: 3600 });
  const home = await freshHome();
  const service = privateService('scale');
  const { logger, redactor } = createLogger({ level: 'warn' });
  const daemons: Daemon[] = [];
  let bare: Bare | null = null;
  try {
    // Created through the core: add + first token, eight at a time.
    const created = performance.now();
    const accounts = new AccountStore({ home, logger });
    await accounts.load();
    const vault = new Vault({ store: realKeychain(service), logger, redactor });
    const broker = new Broker({ accounts, vault, logger, watchSleep: false });
    const ids = Array.from({ length: options.accounts }, (_, i) => `svc-${String(i).padStart(5, '0')}`);
    for (let i = 0; i < ids.length; i += 8) {
      await Promise.all(ids.slice(i, i + 8).map(async (id) => {
        await broker.addAccount({ id, name: id, flow: 'client-credentials', provider: { tokenEndpoint: op.tokenEndpoint }, clientId: op.confidentialClient.client_id, scopes: ['api:read'] }, { clientSecret: op.confidentialClient.client_secret });
        await broker.signIn(id);
      }));
    }
    broker.stop();
    await accounts.flush();
    await vault.settle();
    const createMs = performance.now() - created;
    const note = (line: string) => console.log(`# scale, ${options.accounts} accounts: ${line}`); // long runs show where they are
    note(`created in ${(createMs / 1000).toFixed(0)} s`);

    const empty = await timedStart(await freshHome(), privateService('scale-empty'));
    daemons.push(empty.daemon);
    const emptyRssMb = procStat(empty.daemon.pid).rssMb;
    await empty.daemon.cleanup();

    const started = performance.now();
    const { daemon, ms: startMs } = await timedStart(home, service);
    daemons.push(daemon);
    const headers = { authorization: `Bearer ${daemon.key}` };
    // Ready means every account answers from the keychain: one token each.
    const first = await fetch(`${daemon.url}/v1/accounts/${ids[0]}/token`, { headers });
    if (first.status !== 200) throw new Error(`token route answered ${first.status}`);

    // Idle means after the start-up checks (each account's record read from the keychain).
    const checkedBy = Date.now() + 300_000;
    while (!/every account checked/.test(daemon.output()) && Date.now() < checkedBy) await new Promise((resolve) => setTimeout(resolve, 200));
    const checkedMs = performance.now() - started;
    note(`started in ${(startMs / 1000).toFixed(2)} s, every account checked after ${(checkedMs / 1000).toFixed(1)} s`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const requestsBefore = op.requests('client_credentials');
    const idleFrom = procStat(daemon.pid);
    await new Promise((resolve) => setTimeout(resolve, options.idleSeconds * 1000));
    const idleTo = procStat(daemon.pid);
    const rssMb = idleTo.rssMb; // before any load: what the accounts cost
    const idleCpuPercent = (idleTo.cpuTicks - idleFrom.cpuTicks) / options.idleSeconds; // ticks/s at 100 Hz = % of a core
    const idleProviderRequests = op.requests('client_credentials') - requestsBefore;
    note(`idle ${options.idleSeconds} s: ${idleCpuPercent.toFixed(2)} % of a core, ${idleProviderRequests} provider requests, RSS ${rssMb.toFixed(0)} MB`);

    const listing = await fetch(`${daemon.url}/v1/accounts`, { headers });
    const listBody = await listing.text();
    bare = await startBare(listBody, Object.fromEntries(listing.headers));
    const bareUrl = bare.url;
    const bareListP99Ms = await p99(bareUrl, daemon.key, options.loadSeconds);
    const listP99Ms = await p99(daemon.url, daemon.key, options.loadSeconds);
    note(`GET /v1/accounts p99 ${listP99Ms} ms (bare ${bareListP99Ms} ms, ${listBody.length} bytes)`);

    // Every account refreshing at once, as after a long sleep. With spreadTtlSeconds, the tokens
    // it issues live that long, so their next refreshes fall due together (measured below).
    if (options.spreadTtlSeconds) op.settings.clientCredentialsTtl = options.spreadTtlSeconds;
    op.counters.peakInFlight = 0;
    const refreshStarted = performance.now();
    const answers = await Promise.all(ids.map((id) => fetch(`${daemon.url}/v1/accounts/${id}/refresh`, { method: 'POST', headers }).then((r) => r.status, () => 0)));
    const refreshAllMs = performance.now() - refreshStarted;
    note(`all refreshed at once in ${(refreshAllMs / 1000).toFixed(1)} s, ${answers.filter((s) => s !== 200).length} failed, peak ${op.counters.peakInFlight} at the provider`);

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
      idleProviderRequests,
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
    bare?.stop();
    for (const d of daemons) await d.cleanup().catch(() => undefined);
    await op.close();
  }
}
