import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDaemon, tokentray, type Daemon } from '../fixtures/daemon.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';

describe('no keychain at all', () => {
  let op: TestProvider;
  let daemon: Daemon;
  before(async () => {
    op = await TestProvider.start();
    daemon = await startDaemon({ env: { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/tokentray-test-bus' } });
  });
  after(async () => {
    await daemon?.cleanup();
    await op?.close();
  });

  test('serve says so loudly, works from memory, reports persisted: false, and writes no secret to a file', async () => {
    assert.match(daemon.output(), /WARNING: the keychain \(Secret Service\) is not available: tokens are kept in memory only/);
    const secret = op.confidentialClient.client_secret;
    const added = await tokentray(daemon.env, ['add', 'Machine', '--token-endpoint', op.tokenEndpoint, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials'], secret);
    assert.equal(added.code, 0, added.stderr);
    const token = await tokentray(daemon.env, ['token', 'machine']);
    assert.equal(token.code, 0);
    assert.equal((await op.introspect(token.stdout.trim())).active, true);
    const status = JSON.parse((await tokentray(daemon.env, ['status', 'machine', '--json'])).stdout) as { persisted: boolean };
    assert.equal(status.persisted, false);
    assert.match((await tokentray(daemon.env, ['list'])).stdout, /in memory only/);
    for (const name of await readdir(daemon.home, { recursive: true })) {
      const text = await readFile(join(daemon.home, String(name)), 'utf8').catch(() => '');
      assert.ok(!text.includes(secret) && !text.includes(token.stdout.trim()), `${name} holds a secret`);
    }
  });
});
