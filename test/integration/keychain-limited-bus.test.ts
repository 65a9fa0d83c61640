// A bus with the usual per-user connection limit: the keychain must fit in it however many
// accounts there are (it used to take one connection per item name, so account 84 and later
// silently became `persisted: false` on a bus that allows 256).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

test('on a bus limited to 64 connections per user, 300 accounts all end persisted: true', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tt-limited-bus-'));
  const config = (await readFile('scripts/dbus-session.conf', 'utf8')).replace('</busconfig>', '  <limit name="max_connections_per_user">64</limit>\n</busconfig>');
  await writeFile(join(dir, 'session.conf'), config);
  // Its own data and runtime folders: the second gnome-keyring must not meet the suite's own.
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_DATA_HOME: join(dir, 'data'), XDG_RUNTIME_DIR: dir };
  delete env['DBUS_SESSION_BUS_ADDRESS'];
  const { stdout } = await run('dbus-run-session', [`--config-file=${join(dir, 'session.conf')}`, '--', 'bash', 'scripts/with-keyring.sh', process.execPath, 'test/fixtures/limited-bus-accounts.ts', '300'], { env, encoding: 'utf8', timeout: 200_000, maxBuffer: 16 * 1024 * 1024 });
  const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
  assert.ok(line, `the run printed no result:\n${stdout}`);
  const result = JSON.parse(line) as { slowWrites: number; accounts: number; persisted: number; notPersisted: string[]; busPeak: number; lastError: string | null };
  console.log(`# 300 accounts on a 64-connection bus: ${result.persisted} persisted (${result.slowWrites} after a retry), keychain held at most ${result.busPeak} bus connections`);
  assert.equal(result.accounts, 300);
  assert.deepEqual(result.notPersisted, [], `not persisted (last keychain error: ${result.lastError})`);
  assert.ok(result.busPeak <= 25, `the keychain held ${result.busPeak} bus connections`);
});
