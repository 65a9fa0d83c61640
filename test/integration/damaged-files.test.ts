// REQUIREMENTS 19: a damaged data file is moved aside, reported, and never silently overwritten.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBrokerRuntime } from '../../main/core/daemon/broker-runtime.ts';
import { privateService } from '../fixtures/keychain.ts';
import { capturingLogger } from '../fixtures/logs.ts';

test('damaged accounts.json, clients.json and settings.json: each moved aside whole, reported in the log and the window, fresh files after; temp files of interrupted writes removed', async () => {
  const home = await mkdtemp(join(tmpdir(), 'tt-damaged-'));
  const damaged = { 'accounts.json': '{"v":1,"accounts":[{"id":', 'clients.json': '\u0000\u0000garbage', 'settings.json': '{"notifications": "loud"}' };
  for (const [name, text] of Object.entries(damaged)) await writeFile(join(home, name), text, { mode: 0o600 });
  // What a crash in the middle of an atomic write leaves behind.
  await writeFile(join(home, '.accounts.json.4242.0123456789ab.tmp'), '{"version":1,"acc', { mode: 0o600 });
  const log = capturingLogger('info');
  const runtime = await startBrokerRuntime({ home, keychainService: privateService('damaged'), version: 'test', logger: log.logger, redactor: log.redactor, browser: { open: async () => undefined }, watchSleep: false });
  try {
    const overview = await runtime.service.handlers.overview({});
    assert.deepEqual(overview.recovered.map((r) => r.file).sort(), ['accounts.json', 'clients.json', 'settings.json']);
    const files = await readdir(home);
    for (const entry of overview.recovered) {
      assert.match(entry.movedTo, new RegExp(`${entry.file.replace('.', '\\.')}\\.corrupt-`));
      assert.ok(files.includes(entry.movedTo.split('/').pop()!), `${entry.movedTo} exists`);
      assert.equal(await readFile(entry.movedTo, 'utf8'), damaged[entry.file as keyof typeof damaged], `${entry.file}: the damaged bytes are kept as they were`);
      assert.match(entry.message, /damaged/);
    }
    assert.match(overview.recovered.find((r) => r.file === 'clients.json')!.message, /ask for a key again/);
    assert.match(log.lines(), /clients\.json was corrupt and was moved aside/);
    assert.match(log.lines(), /settings\.json was unreadable/);
    // The broker works on fresh files: a key request and a setting are written and read back.
    await runtime.service.handlers.updateSettings({ notifications: false });
    assert.equal(JSON.parse(await readFile(join(home, 'settings.json'), 'utf8')).notifications, false);
    assert.deepEqual(runtime.broker.list(), []);
    assert.ok(!(await readdir(home)).some((n) => n.endsWith('.tmp')), 'the temp file of an interrupted write is gone');
  } finally {
    await runtime.stop();
  }
});
