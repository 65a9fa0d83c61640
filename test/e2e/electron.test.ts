import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { _electron } from 'playwright-core';
import { electronBinary } from '../../scripts/start-mode.ts';
import { privateService } from '../fixtures/keychain.ts';

// The broker, API, renderer and CLI are tested without Electron elsewhere; this only proves the
// shell wires them: a window opens with the account list, and the shell's broker serves the API.
test('the desktop shell starts: window, broker, endpoint.json', async (t) => {
  const binary = electronBinary(process.cwd());
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
    await window.getByRole('navigation', { name: 'Main' }).waitFor();
    await window.getByText('No accounts yet.').waitFor();
    const endpoint = JSON.parse(readFileSync(join(home, 'endpoint.json'), 'utf8')) as { url: string };
    const health = await fetch(`${endpoint.url}/v1/health`);
    assert.equal(health.status, 200);
  } finally {
    await app.close();
  }
});
