// A keychain record that no longer parses, or is not there at all: the account says so
// (reauth_required with record_corrupt or record_missing, advice included) instead of staying
// "valid" while every token request fails; a new sign-in replaces the damaged tokens.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ERROR_HELP } from '../../shared/error-help.ts';
import { curl, startDaemon, tokentray, tokentrayLines, type Daemon, type JsonLine } from '../fixtures/daemon.ts';
import { privateService, realKeychain, secretToolAccounts } from '../fixtures/keychain.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';

describe('a damaged keychain record', () => {
  let op: TestProvider;
  let daemon: Daemon;
  const service = privateService('damaged');
  before(async () => {
    op = await TestProvider.start();
    daemon = await startDaemon({ service });
  });
  after(async () => {
    await daemon?.cleanup();
    await op?.close();
  });

  test('shows a status and a code a person can act on, refuses tokens with 409, and heals by signing in again', async () => {
    const signInLines = (line: JsonLine) => { if (line['event'] === 'authorize') void op.signIn(String(line['url'])); };
    const added = await tokentrayLines(daemon.env, ['add', 'Machine', '--issuer', op.issuer, '--client-id', op.nativeClient.client_id, '--scope', 'openid offline_access', '--no-browser', '--json'], signInLines);
    assert.equal(added.code, 0, added.stderr);
    await daemon.stop();
    const items = (await secretToolAccounts(service)).filter((n) => n === 'machine');
    assert.equal(items.length, 1, 'the record is one inline item');
    await realKeychain(service).set('machine', '{"v":1,"generation":'); // torn: not JSON any more
    daemon = await startDaemon({ home: daemon.home, service });
    const status = JSON.parse((await tokentray(daemon.env, ['status', 'machine', '--json'])).stdout) as { status: string; lastError: { code: string } | null };
    assert.equal(status.status, 'reauth_required');
    assert.equal(status.lastError?.code, 'record_corrupt');
    const human = await tokentray(daemon.env, ['status', 'machine']);
    assert.ok(human.stdout.includes(`what to do:      ${ERROR_HELP.record_corrupt.fix}`), human.stdout);
    const token = await curl(['-H', `Authorization: Bearer ${daemon.key}`, `${daemon.url}/v1/accounts/machine/token`]);
    assert.equal(token.status, 409);
    assert.equal((token.json as { error: { code: string } }).error.code, 'reauth_required');
    assert.equal((await tokentray(daemon.env, ['token', 'machine'])).code, 4);
    const login = await tokentrayLines(daemon.env, ['login', 'machine', '--no-browser', '--json'], signInLines);
    assert.equal(login.code, 0, login.stderr);
    assert.equal((await tokentray(daemon.env, ['token', 'machine'])).code, 0, 'signed in again, it serves tokens');
  });

  test('a record missing from the keychain: reauth_required with record_missing at start, never "valid" with no token behind it', async () => {
    const added = await tokentray(daemon.env, ['add', 'Gone', '--token-endpoint', op.tokenEndpoint, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials', '--json'], op.confidentialClient.client_secret);
    assert.equal(added.code, 0, added.stderr);
    await daemon.stop();
    assert.equal(await realKeychain(service).delete('gone'), true, 'the record was there');
    daemon = await startDaemon({ home: daemon.home, service });
    const status = JSON.parse((await tokentray(daemon.env, ['status', 'gone', '--json'])).stdout) as { status: string; lastError: { code: string; message: string } | null };
    assert.equal(status.status, 'reauth_required');
    assert.equal(status.lastError?.code, 'record_missing');
    const human = await tokentray(daemon.env, ['status', 'gone']);
    assert.ok(human.stdout.includes(`what to do:      ${ERROR_HELP.record_missing.fix}`), human.stdout);
    const token = await curl(['-H', `Authorization: Bearer ${daemon.key}`, `${daemon.url}/v1/accounts/gone/token`]);
    assert.equal(token.status, 409);
    assert.equal((await tokentray(daemon.env, ['token', 'gone'])).code, 4);
  });
});
