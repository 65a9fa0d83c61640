// A keychain record that no longer parses: the account says so (reauth_required with
// record_corrupt, advice included) instead of staying "valid" while every token request
// fails with 500 internal; a new sign-in replaces the damaged tokens.
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
});
