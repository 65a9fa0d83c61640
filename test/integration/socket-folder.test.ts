// REQUIREMENTS 12: the Unix socket lives in a folder only we can enter, and is itself 0600.
import assert from 'node:assert/strict';
import { chmod, chown, lstat, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { socketPathFor } from '../../main/core/daemon/broker-runtime.ts';
import { startDaemon, tokentray } from '../fixtures/daemon.ts';

describe('the socket folder', () => {
  test('the socket is 0600 in a 0700 folder, and answers with the key', async () => {
    const daemon = await startDaemon();
    try {
      assert.ok(daemon.socket);
      assert.equal((await stat(daemon.socket)).mode & 0o777, 0o600);
      assert.equal((await stat(dirname(daemon.socket))).mode & 0o777, 0o700);
      assert.equal((await tokentray(daemon.env, ['list'])).code, 0);
    } finally {
      await daemon.cleanup();
    }
  });

  test('a socket folder another user made in the temp directory is never used; the broker still starts', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root to make a folder owned by another user (CI runs as root)');
      return;
    }
    // A data folder path this long puts the socket under the shared temp directory.
    const home = join(await mkdtemp(join(tmpdir(), 'tt-long-')), 'a'.repeat(90));
    await mkdir(home, { recursive: true });
    const wanted = socketPathFor(home);
    assert.ok(wanted.startsWith(tmpdir()), wanted);
    await mkdir(dirname(wanted), { recursive: true, mode: 0o777 });
    await chmod(dirname(wanted), 0o777);
    await chown(dirname(wanted), 65534, 65534); // nobody's, as if another user got there first
    const daemon = await startDaemon({ home });
    try {
      assert.ok(daemon.socket && daemon.socket !== wanted, `the broker used ${daemon.socket}`);
      const folder = await lstat(dirname(daemon.socket));
      assert.equal(folder.uid, 0);
      assert.equal(folder.mode & 0o777, 0o700);
      assert.equal((await lstat(dirname(wanted))).uid, 65534, 'the other user’s folder was not touched');
      assert.equal((await lstat(dirname(wanted))).mode & 0o777, 0o777);
      assert.match(daemon.output(), /the socket folder belongs to someone else/);
      assert.equal((await tokentray(daemon.env, ['list'])).code, 0);
    } finally {
      await daemon.cleanup();
      await rm(dirname(wanted), { recursive: true, force: true });
    }
  });
});
