// The desktop shell's composition root: the one place where the broker's parts are wired.
import { app, BrowserWindow } from 'electron';
import { fileURLToPath } from 'node:url';
import { AccountStore } from '../core/accounts/account-store.ts';
import { resolveHome, resolveKeychainService } from '../core/config.ts';
import { childLogger, createLogger } from '../core/log/logger.ts';
import { KeychainStore } from '../core/vault/keychain-store.ts';
import { Vault } from '../core/vault/vault.ts';
import type { AccountSummary } from '../../shared/ipc.ts';
import { registerIpc } from './ipc.ts';
import { createTray } from './tray.ts';
import { createMainWindow } from './window.ts';

const indexFile = fileURLToPath(new URL('../../renderer/index.html', import.meta.url));
const preloadFile = fileURLToPath(new URL('./preload.cjs', import.meta.url));

async function start(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  const { logger, redactor } = createLogger();
  const log = childLogger(logger, 'shell');
  const home = resolveHome();
  const accounts = new AccountStore({ home, logger: childLogger(logger, 'accounts') });
  const vault = new Vault({ store: new KeychainStore({ service: resolveKeychainService() }), logger: childLogger(logger, 'vault'), redactor });
  const loaded = await accounts.load();
  if (loaded.recovered) log.error({ movedTo: loaded.recovered.movedTo }, loaded.recovered.error.message);

  const summaries = (): AccountSummary[] =>
    accounts.list().map((a) => ({
      id: a.id,
      name: a.name,
      status: a.state.status,
      flow: a.flow,
      accessTokenExpiresAt: a.state.accessTokenExpiresAt,
      persisted: vault.isPersisted(a.id),
    }));

  await app.whenReady();
  let window: BrowserWindow | null = null;
  const open = (): void => {
    if (window && !window.isDestroyed()) {
      window.show();
      window.focus();
      return;
    }
    window = createMainWindow(indexFile, preloadFile);
  };
  registerIpc({ 'accounts:list': async () => summaries() }, () => (window && !window.isDestroyed() ? window.webContents : null), new URL('../../renderer/', import.meta.url).href);
  const tray = createTray({ open, quit: () => app.quit() });
  tray.update(summaries());
  app.on('second-instance', open);
  app.on('window-all-closed', () => undefined); // a tray app lives on without windows
  open();
  log.info({ home, keychain: vault.status().keychain }, 'Tokentray started');
}

start().catch((error: unknown) => {
  console.error('Tokentray failed to start:', error instanceof Error ? error.message : error);
  app.exit(1);
});
