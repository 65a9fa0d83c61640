import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecoveredFile } from '../../../shared/broker-api.ts';
import { AccountStore } from '../accounts/account-store.ts';
import { removeInterruptedWrites } from '../files/atomic-file.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { Broker } from '../broker/broker.ts';
import { ClientRegistry } from '../clients/client-registry.ts';
import { newKey } from '../clients/keys.ts';
import { startApiServer, type ApiServer } from '../endpoint/api-server.ts';
import { childLogger, type Logger } from '../log/logger.ts';
import type { Redactor } from '../log/redactor.ts';
import type { BrowserOpener } from '../oauth/sign-in.ts';
import { KeychainStore, type KeychainWorkerFactory } from '../vault/keychain-store.ts';
import { applyJournalEntry } from '../broker/journal-recovery.ts';
import { awaitKeychainHandoff } from './keychain-handoff.ts';
import { Vault } from '../vault/vault.ts';
import { acquireBrokerLock } from './broker-lock.ts';
import { rateLimiter } from '../endpoint/rate-limiter.ts';
import { removeEndpointFile, writeEndpointFile } from './endpoint-file.ts';
import { LockSwitch } from './lock-switch.ts';
import { loadStaticFiles } from '../endpoint/static-files.ts';
import { BrokerApiService } from '../ui/broker-api-service.ts';
import { SettingsStore } from '../ui/settings-store.ts';
import { UiSessions } from '../ui/ui-sessions.ts';
import { builtUiDir } from './ui-dir.ts';
import { MemoryTrim } from './memory-trim.ts';

export interface RuntimeOptions {
  home: string;
  keychainService: string;
  version: string;
  logger: Logger;
  redactor: Redactor;
  browser: BrowserOpener;
  port?: number;
  watchSleep?: boolean;
  approvalTimeoutMs?: number;
  heartbeatMs?: number;
  /** How the keychain process starts (default: Node's fork; the desktop app: utilityProcess). */
  spawnKeychainWorker?: KeychainWorkerFactory;
  /** The built renderer served in web mode (default: the package's `dist/ui`). */
  uiDir?: string;
}

export interface BrokerRuntime {
  broker: Broker;
  vault: Vault;
  accounts: AccountStore;
  clients: ClientRegistry;
  /** BrokerApi as the window uses it: web mode serves it over HTTP, the desktop shell over IPC. */
  service: BrokerApiService;
  settings: SettingsStore;
  lock: LockSwitch;
  api: ApiServer;
  ownerKey: string;
  /** Stops serving, lets queued writes land, removes endpoint.json and the lock. */
  stop(): Promise<void>;
}

/**
 * A socket path short enough for sun_path (108 bytes), inside a folder only we can enter. On
 * Windows, a named pipe per data folder: its default security lets only the creating user
 * (and administrators) open it for writing, and every request still needs the key.
 */
export function socketPathFor(home: string, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return `\\\\.\\pipe\\tokentray-${createHash('sha256').update(home.toLowerCase()).digest('hex').slice(0, 16)}`;
  const inHome = join(home, 'run', 'broker.sock');
  if (Buffer.byteLength(inHome) <= 100) return inHome;
  const tag = createHash('sha256').update(home).digest('hex').slice(0, 12);
  return join(tmpdir(), `tokentray-${process.getuid?.() ?? 'u'}-${tag}`, 'broker.sock');
}

/**
 * The composition root of the broker: the one place its parts are built and wired, used by
 * `tokentray serve` and by the desktop shell.
 */
export async function startBrokerRuntime(options: RuntimeOptions): Promise<BrokerRuntime> {
  const { home, logger } = options;
  await mkdir(home, { recursive: true, mode: 0o700 });
  const lock = await acquireBrokerLock(home);
  try {
    const interrupted = await removeInterruptedWrites(home); // we hold the lock: no writer but us
    if (interrupted.length > 0) logger.info({ files: interrupted }, 'removed temp files of writes a crash interrupted');
    const accounts = new AccountStore({ home, logger: childLogger(logger, 'accounts') });
    const loaded = await accounts.load();
    const recovered: RecoveredFile[] = [];
    if (loaded.recovered) {
      logger.error(loaded.recovered.error.message);
      recovered.push({ file: 'accounts.json', movedTo: loaded.recovered.movedTo, message: 'accounts.json was damaged and was moved aside: Tokentray started with no accounts. Nothing was deleted — restore the file by hand if it can be repaired.' });
    }
    const waited = await awaitKeychainHandoff(home);
    if (waited > 50) logger.info({ ms: waited }, 'waited for the keychain process of a broker that crashed to finish its writes');
    const vault = new Vault({ store: new KeychainStore({ service: options.keychainService, handoffDir: home, ...(options.spawnKeychainWorker ? { spawnWorker: options.spawnKeychainWorker } : {}) }), logger: childLogger(logger, 'vault'), redactor: options.redactor });
    const keychain = await vault.probe();
    if (keychain.lastError) logger.warn({ err: keychain.lastError }, 'the keychain is not available: tokens are kept in memory only');
    // Before any refresh: a crash's rotated refresh tokens first. If the keychain cannot tell
    // yet, every read of a stored record tries again first (Vault.recover).
    const recovering = vault.recover(applyJournalEntry);
    if (!keychain.lastError) await recovering.catch((error: unknown) => logger.warn({ err: error }, 'the refresh journal of a crashed broker could not be read yet: stored records wait for it'));
    else void recovering.catch(() => undefined);
    const clients = new ClientRegistry({ home, logger: childLogger(logger, 'clients') });
    const clientsRecovered = await clients.load();
    if (clientsRecovered) recovered.push(clientsRecovered);
    const audit = new AuditLog({ home });
    const broker = new Broker({ accounts, vault, logger: childLogger(logger, 'broker'), browser: options.browser, watchSleep: options.watchSleep ?? true });
    // Checked in the background: the endpoint answers at once, however many accounts there are.
    const checked = broker.start();
    // Once quiet after work (this check, refreshes, requests), memory goes back to the system.
    const trim = new MemoryTrim({ logger: childLogger(logger, 'memory') });
    const stopTouching = broker.onStatus(() => trim.touch());
    void checked.then(() => trim.afterBurst());
    const ownerKey = newKey('tto_');
    options.redactor.addSecret(ownerKey);
    const lockSwitch = new LockSwitch();
    const settings = new SettingsStore({ home, logger: childLogger(logger, 'settings') });
    const settingsRecovered = await settings.load();
    if (settingsRecovered) recovered.push(settingsRecovered);
    const service = new BrokerApiService({ broker, vault, clients, audit, lock: lockSwitch, settings, logger: childLogger(logger, 'window'), version: options.version, recovered });
    const sessions = new UiSessions();
    const files = await loadStaticFiles(options.uiDir ?? builtUiDir());
    if (!files) logger.warn('the window is not built (npm run build): web mode answers 503 until it is');
    let url = '';
    const api = await startApiServer({
      broker,
      clients,
      audit,
      logger: childLogger(logger, 'endpoint'),
      version: options.version,
      approvalTimeoutMs: options.approvalTimeoutMs ?? 5 * 60_000,
      heartbeatMs: options.heartbeatMs ?? 15_000,
      isLocked: () => lockSwitch.locked,
      setLocked: (value) => lockSwitch.set(value),
      windowLink: () => `${url}/ui/login?t=${sessions.issueLoginToken()}`,
      ui: { sessions, service, files, heartbeatMs: options.heartbeatMs ?? 15_000 },
      limitKeyRequests: rateLimiter(10, 60_000, 'too many key requests; try again in a minute'),
      ownerKey,
      port: options.port ?? 0,
      socketPath: socketPathFor(home),
      onRequest: () => trim.touch(),
    });
    url = api.url;
    await writeEndpointFile(home, { url: api.url, socket: api.socketPath, pid: process.pid, version: options.version, key: ownerKey });
    let stopping: Promise<void> | null = null;
    return {
      broker,
      vault,
      accounts,
      clients,
      service,
      settings,
      lock: lockSwitch,
      api,
      ownerKey,
      stop: () => {
        stopping ??= (async () => {
          await removeEndpointFile(home);
          stopTouching();
          trim.stop();
          await api.close();
          broker.stop();
          await checked;
          await broker.settle(); // a refresh in flight finishes and writes its tokens
          await accounts.flush();
          await audit.close().catch(() => undefined);
          await vault.retryPending().catch(() => undefined);
          await vault.settle();
          await lock.release();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}
