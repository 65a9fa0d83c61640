// The main window: the renderer from dist/ui on the app:// protocol (not file://), sandboxed,
// context-isolated, no Node; navigation, new windows and permission requests are refused.
import { BrowserWindow, net, protocol, session, shell } from 'electron';
import { extname, join, normalize, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UI_CSP, UI_FILE_TYPES } from '../core/endpoint/static-files.ts';
import { safeToOpen } from './shell.ts';

export const APP_ORIGIN = 'app://tokentray';

/** Before `ready`: app:// is a standard, secure scheme (fetch, CSP 'self', no CORS needed). */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: false, corsEnabled: false } }]);
}

/** After `ready`: app://tokentray/<file> serves only files inside the built renderer, with the window's CSP. */
export function serveApp(uiDir: string): void {
  const root = normalize(uiDir);
  protocol.handle('app', async (request) => {
    const url = new URL(request.url);
    const file = normalize(join(root, decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname)));
    if (url.host !== 'tokentray' || !file.startsWith(root + sep)) return new Response('not found', { status: 404 });
    const response = await net.fetch(pathToFileURL(file).href).catch(() => null);
    if (!response || !response.ok) return new Response('not found', { status: 404 });
    return new Response(response.body, { headers: { 'content-type': UI_FILE_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'content-security-policy': UI_CSP, 'x-content-type-options': 'nosniff' } });
  });
  // The window asks for nothing: no camera, no notifications from the page, no clipboard reads.
  session.defaultSession.setPermissionRequestHandler((_contents, permission, callback) => callback(permission === 'clipboard-sanitized-write'));
  session.defaultSession.setPermissionCheckHandler((_contents, permission) => permission === 'clipboard-sanitized-write');
}

export function createMainWindow(preloadFile: string, route: string): BrowserWindow {
  const window = new BrowserWindow({
    width: 1000,
    height: 720,
    minWidth: 360,
    minHeight: 420,
    show: false,
    title: 'Tokentray',
    webPreferences: { preload: preloadFile, contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, spellcheck: false, webviewTag: false },
  });
  window.webContents.on('will-navigate', (event, url) => {
    if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault();
  });
  window.webContents.on('will-attach-webview', (event) => event.preventDefault());
  window.webContents.setWindowOpenHandler(({ url }) => {
    // "Continue in browser", the device page: the system browser, and only https or loopback http.
    if (safeToOpen(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(`${APP_ORIGIN}/index.html${route}`);
  return window;
}
