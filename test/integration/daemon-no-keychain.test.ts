import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { curl, startDaemon, tokentray, type Daemon } from '../fixtures/daemon.ts';
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

  test('a restart in memory-only mode says what each account needs (the keychain), never valid + 500', async () => {
    await daemon.stop();
    daemon = await startDaemon({ home: daemon.home, service: daemon.service, env: { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/tokentray-test-bus' } });
    const listed = JSON.parse((await tokentray(daemon.env, ['list', '--json'])).stdout) as { accounts: Array<{ id: string; status: string; persisted: boolean; lastError: { code: string } | null }> };
    const machine = listed.accounts.find((a) => a.id === 'machine');
    assert.equal(machine?.status, 'expired', 'its tokens lived in memory only: not valid');
    assert.equal(machine?.lastError?.code, 'keychain_unavailable');
    assert.equal(machine?.persisted, false);
    const answer = await curl(['-H', `Authorization: Bearer ${daemon.key}`, `${daemon.url}/v1/accounts/machine/token`]);
    assert.equal(answer.status, 503, answer.body);
    assert.equal((answer.json as { error: { code: string } }).error.code, 'keychain_unavailable');
    const token = await tokentray(daemon.env, ['token', 'machine']);
    assert.notEqual(token.code, 0);
    assert.match(token.stderr, /the keychain is not answering/);
  });
});
