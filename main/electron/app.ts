// The desktop app's entry and composition root: it builds the broker through the one runtime
// the headless daemon uses too, the ports object from Electron, and hands both to the shell.
import { app, dialog, shell as electronShell } from 'electron';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { resolveHome, resolveKeychainService } from '../core/config.ts';
import { startBrokerRuntime } from '../core/daemon/broker-runtime.ts';
import { builtUiDir, packageRoot } from '../core/daemon/ui-dir.ts';
import { childLogger, createLogger } from '../core/log/logger.ts';
import { electronPorts } from './electron-ports.ts';
import { utilityKeychainWorker } from './keychain-utility.ts';
import { safeToOpen, startShell } from './shell.ts';
import { APP_ORIGIN, registerAppScheme, serveApp } from './window.ts';

const preloadFile = fileURLToPath(new URL('./preload.cjs', import.meta.url));

async function start(): Promise<void> {
  // Single instance: a second launch only brings the first one's window forward.
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  registerAppScheme();
  const { logger, redactor } = createLogger();
  const log = childLogger(logger, 'shell');
  await app.whenReady();
  serveApp(builtUiDir());
  const home = resolveHome();
  const runtime = await startBrokerRuntime({
    home,
    keychainService: resolveKeychainService(),
    version: app.getVersion(),
    logger,
    redactor,
    // `tokentray login` against the desktop app: the system browser (never a webview), and
    // only https or loopback http (REQUIREMENTS 1).
    browser: {
      open: async (url) => {
        if (!safeToOpen(url)) throw new Error('refused to open a sign-in URL that is neither https nor loopback http');
        await electronShell.openExternal(url);
      },
    },
    watchSleep: false, // the desktop has a real resume event
    spawnKeychainWorker: app.isPackaged ? utilityKeychainWorker : undefined,
  });
  const ports = electronPorts({ home, assetsDir: join(packageRoot(), 'assets'), preloadFile, log: (message, details) => log.warn(details ?? {}, message) });
  const shell = await startShell(ports, runtime, { appOrigin: APP_ORIGIN });
  app.on('second-instance', () => shell.secondInstance());
  app.on('window-all-closed', () => undefined); // a tray app lives on without windows
  app.on('before-quit', (event) => {
    // Let a keychain write in flight land: stop the broker first, then exit.
    event.preventDefault();
    void shell.quit();
  });
  ports.windows.show('#/');
  log.info({ url: runtime.api.url }, 'Tokentray started');
}

start().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  dialog.showErrorBox('Tokentray cannot start', message);
  app.exit(1);
});
