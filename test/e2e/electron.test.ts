import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { _electron } from 'playwright-core';
import { privateService } from '../fixtures/keychain.ts';

/** The Electron binary, if this machine has one (it is downloaded from GitHub, which CI cannot reach). */
function electronBinary(): string | null {
  const dir = join(process.cwd(), 'node_modules', 'electron');
  const pathFile = join(dir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}

// The broker, API, renderer and CLI are tested without Electron elsewhere; this only proves the
// shell wires them: a window opens with the account list, and the shell's broker serves the API.
test('the desktop shell starts: window, broker, endpoint.json', async (t) => {
  const binary = electronBinary();
  if (!binary) {
    t.skip('the Electron binary is not installed here (it downloads from GitHub on first use); the shell is type-checked instead');
    return;
  }
  const home = await mkdtemp(join(tmpdir(), 'tt-electron-'));
  const app = await _electron.launch({
    executablePath: binary,
    args: ['.'],
    env: { ...process.env, TOKENTRAY_HOME: home, TOKENTRAY_KEYCHAIN_SERVICE: privateService('electron') } as Record<string, string>,
  });
  try {
    const window = await app.firstWindow();
    assert.equal(await window.title(), 'Tokentray');
    await window.waitForSelector('#empty:not([hidden])');
    const endpoint = JSON.parse(readFileSync(join(home, 'endpoint.json'), 'utf8')) as { url: string };
    const health = await fetch(`${endpoint.url}/v1/health`);
    assert.equal(health.status, 200);
  } finally {
    await app.close();
  }
});
