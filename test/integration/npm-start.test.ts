// `npm start` where the desktop shell cannot run (no display, no Electron binary, as here):
// one line says why, the headless broker starts, and the window's link is printed and works.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { electronBinary, shellUnavailable } from '../../scripts/start-mode.ts';
import { curl, freshHome } from '../fixtures/daemon.ts';
import { privateService } from '../fixtures/keychain.ts';

describe('npm start', () => {
  test('the desktop shell needs a display and the Electron binary; each missing one is named', () => {
    assert.match(shellUnavailable({ platform: 'linux', env: {}, electronBinary: '/x/electron' })!, /no display/);
    assert.equal(shellUnavailable({ platform: 'linux', env: { WAYLAND_DISPLAY: 'wayland-0' }, electronBinary: '/x/electron' }), null);
    assert.match(shellUnavailable({ platform: 'linux', env: { DISPLAY: ':0' }, electronBinary: null })!, /Electron binary is missing/);
    assert.match(shellUnavailable({ platform: 'darwin', env: {}, electronBinary: null })!, /Electron binary is missing/);
    assert.equal(shellUnavailable({ platform: 'win32', env: {}, electronBinary: 'C:\\electron.exe' }), null);
    assert.equal(electronBinary('/nonexistent'), null);
  });

  test('without a display: one line why, the headless broker, and a window link that signs the browser in', async () => {
    const home = await freshHome();
    const env: NodeJS.ProcessEnv = { ...process.env, TOKENTRAY_HOME: home, TOKENTRAY_KEYCHAIN_SERVICE: privateService('start') };
    delete env['DISPLAY'];
    delete env['WAYLAND_DISPLAY'];
    const child = spawn(process.execPath, ['scripts/start.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no link printed:\n${out}`)), 20_000);
        child.stdout.on('data', () => {
          const link = /(http:\/\/127\.0\.0\.1:\d+\/ui\/login\?t=[A-Za-z0-9_-]+)/.exec(out);
          if (link) {
            clearTimeout(timer);
            resolve(link[1]!);
          }
        });
      });
      const lines = out.split('\n');
      assert.match(lines[0]!, /^Tokentray: the desktop app cannot start here: no display .*Starting the headless broker/);
      assert.ok(lines.some((l) => l.startsWith('listening on http://127.0.0.1:')));
      const login = await curl([url]);
      assert.equal(login.status, 303);
      assert.match(login.headers['set-cookie'] ?? '', /HttpOnly; SameSite=Strict/);
      const page = await curl([new URL('/', url).href]);
      assert.equal(page.status, 200);
      assert.match(page.body, /<div id="root">/);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, 'Ctrl-C / SIGTERM stops the broker cleanly');
  });
});
