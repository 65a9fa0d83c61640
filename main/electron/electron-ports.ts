// The one place the shell's ports meet Electron: tray, menu, notifications, windows, IPC,
// power monitor, shell, login items. Built once in app.ts; tests use a recording stand-in.
import { app, BrowserWindow, ipcMain, Menu, nativeImage, Notification, powerMonitor, shell, Tray, type MenuItemConstructorOptions } from 'electron';
import { join } from 'node:path';
import { xdgLoginItems } from './autostart.ts';
import { fileNotifyMemory } from './notify-memory.ts';
import type { ShellPorts } from './shell-ports.ts';
import type { TrayAction, TrayMenuItem, TrayState } from './tray-model.ts';
import { APP_ORIGIN, createMainWindow } from './window.ts';

export interface ElectronPortsOptions {
  home: string;
  assetsDir: string;
  preloadFile: string;
  log: (message: string, details?: Record<string, unknown>) => void;
}

/** The icon file for a state: macOS template images; 16 px on Windows; 22 px on Linux panels. */
function iconFile(assetsDir: string, state: TrayState): string {
  if (process.platform === 'darwin') return join(assetsDir, 'tray', `${state}Template.png`);
  return join(assetsDir, 'tray', `${state}-${process.platform === 'win32' ? 16 : 22}.png`);
}

export function electronPorts(options: ElectronPortsOptions): ShellPorts {
  let tray: Tray | null = null;
  let window: BrowserWindow | null = null;
  let actionListener: (action: TrayAction) => void = () => undefined;
  const live = () => (window && !window.isDestroyed() ? window : null);
  const template = (items: TrayMenuItem[]): MenuItemConstructorOptions[] =>
    items.map((item) => (item.type === 'separator' ? { type: 'separator' } : { label: item.label, enabled: item.enabled, click: item.action ? () => actionListener(item.action!) : undefined }));
  return {
    platform: process.platform,
    app: {
      exit: (code) => app.exit(code),
      setBadgeCount: (count) => {
        app.setBadgeCount(count);
      },
    },
    tray: {
      render(model) {
        const image = nativeImage.createFromPath(iconFile(options.assetsDir, model.state));
        if (process.platform === 'darwin') image.setTemplateImage(true);
        tray ??= new Tray(image);
        tray.setImage(image);
        tray.setToolTip(model.tooltip);
        if (process.platform === 'darwin') tray.setTitle(model.badge > 0 ? String(model.badge) : '');
        // Linux (AppIndicator) shows a menu only if it is set again after each change.
        tray.setContextMenu(Menu.buildFromTemplate(template(model.menu)));
      },
      onAction: (listener) => {
        actionListener = listener;
      },
    },
    notifications: {
      supported: () => Notification.isSupported(),
      show(note, onClick) {
        const notification = new Notification({ title: note.title, body: note.body, silent: false });
        notification.on('click', onClick);
        notification.show();
      },
    },
    windows: {
      show(route) {
        const open = live();
        if (open) {
          void open.loadURL(`${APP_ORIGIN}/index.html${route}`);
          if (open.isMinimized()) open.restore();
          open.show();
          open.focus();
          return;
        }
        window = createMainWindow(options.preloadFile, route);
      },
      send(channel, payload) {
        live()?.webContents.send(channel, payload);
      },
    },
    ipc: {
      handle(channel, handler) {
        ipcMain.handle(channel, (event, input: unknown) => {
          const owner = live();
          const frame = event.senderFrame;
          return handler({ fromOurWindow: !!owner && event.sender === owner.webContents, mainFrame: !!owner && !!frame && frame === owner.webContents.mainFrame, url: frame?.url ?? '' }, input);
        });
      },
    },
    shell: { openExternal: (url) => shell.openExternal(url) },
    loginItems:
      process.platform === 'linux'
        ? xdgLoginItems(process.env['APPIMAGE'] ? [process.env['APPIMAGE']] : [process.execPath, ...(app.isPackaged ? [] : [app.getAppPath()])])
        : {
            get: async () => app.getLoginItemSettings().openAtLogin,
            set: async (enabled) => app.setLoginItemSettings({ openAtLogin: enabled }),
          },
    memory: fileNotifyMemory(options.home),
    power: { onResume: (listener) => powerMonitor.on('resume', listener) },
    log: { warn: options.log },
  };
}
