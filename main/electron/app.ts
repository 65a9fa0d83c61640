// The desktop shell. It builds the broker through the one composition root the headless
// daemon uses too, and adds what only a desktop has: tray, window, resume-from-sleep.
import { app, BrowserWindow, dialog, powerMonitor, shell } from 'electron';
import { fileURLToPath } from 'node:url';
import { resolveHome, resolveKeychainService } from '../core/config.ts';
import { startBrokerRuntime } from '../core/daemon/broker-runtime.ts';
import { childLogger, createLogger } from '../core/log/logger.ts';
import type { AccountSummary } from '../../shared/ipc.ts';
import { registerIpc } from './ipc.ts';
import { createTray } from './tray.ts';
import { createMainWindow } from './window.ts';

const indexFile = fileURLToPath(new URL('../../ui/index.html', import.meta.url));
const preloadFile = fileURLToPath(new URL('./preload.cjs', import.meta.url));

async function start(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  const { logger, redactor } = createLogger();
  const log = childLogger(logger, 'shell');
  await app.whenReady();
  const runtime = await startBrokerRuntime({
    home: resolveHome(),
    keychainService: resolveKeychainService(),
    version: app.getVersion(),
    logger,
    redactor,
    // The system browser, never an embedded webview (RFC 8252 §8.12).
    browser: { open: (url) => shell.openExternal(url) },
    watchSleep: false, // the desktop has a real resume event
  });
  const summaries = (): AccountSummary[] =>
    runtime.broker.list().map((a) => ({ id: a.id, name: a.name, status: a.status, flow: a.flow, accessTokenExpiresAt: a.accessTokenExpiresAt, persisted: a.persisted }));

  let window: BrowserWindow | null = null;
  const open = (): void => {
    if (window && !window.isDestroyed()) {
      window.show();
      window.focus();
      return;
    }
    window = createMainWindow(indexFile, preloadFile);
  };
  registerIpc(runtime.service, () => (window && !window.isDestroyed() ? window.webContents : null), new URL('../../ui/', import.meta.url).href);
  const tray = createTray({ open, quit: () => app.quit() });
  tray.update(summaries());
  runtime.broker.onStatus(() => tray.update(summaries()));
  powerMonitor.on('resume', () => void runtime.broker.resume());
  app.on('second-instance', open);
  app.on('window-all-closed', () => undefined); // a tray app lives on without windows
  let stopped = false;
  app.on('before-quit', (event) => {
    if (stopped) return;
    event.preventDefault();
    void runtime.stop().finally(() => {
      stopped = true;
      app.quit();
    });
  });
  open();
  log.info({ url: runtime.api.url }, 'Tokentray started');
}

start().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  dialog.showErrorBox('Tokentray cannot start', message);
  app.exit(1);
});
