import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { curl, startDaemon, tokentray, type Daemon } from '../fixtures/daemon.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';

describe('local tools: keys a person approves', () => {
  let op: TestProvider;
  let daemon: Daemon;
  before(async () => {
    op = await TestProvider.start();
    daemon = await startDaemon({ env: { TOKENTRAY_APPROVAL_TIMEOUT: '3' } });
    for (const name of ['Alpha', 'Beta']) {
      const added = await tokentray(daemon.env, ['add', name, '--token-endpoint', op.tokenEndpoint, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials'], op.confidentialClient.client_secret);
      assert.equal(added.code, 0, added.stderr);
    }
  });
  after(async () => {
    await daemon?.cleanup();
    await op?.close();
  });

  async function pendingId(name: string): Promise<string> {
    for (let i = 0; i < 100; i++) {
      const list = await tokentray(daemon.env, ['clients', 'list', '--json']);
      const found = (JSON.parse(list.stdout) as { clients: Array<{ id: string; name: string; status: string }> }).clients.find((c) => c.name === name && c.status === 'pending');
      if (found) return found.id;
      await sleep(50);
    }
    throw new Error(`no pending request from ${name}`);
  }

  test('a key limited to account A: approved once, shown once, 403 for B, recorded on use, 401 after revocation', async () => {
    const asking = curl(['-X', 'POST', '-H', 'Content-Type: application/json', '--data', '{"name":"deploy script"}', `${daemon.url}/v1/clients`]);
    const id = await pendingId('deploy script');
    const approved = await tokentray(daemon.env, ['clients', 'approve', id, '--account', 'alpha']);
    assert.equal(approved.code, 0, approved.stderr);
    const answer = await asking;
    assert.equal(answer.status, 200);
    const { key } = answer.json as { id: string; key: string };
    assert.match(key, /^ttk_[A-Za-z0-9_-]{43}$/);
    const stored = await readFile(join(daemon.home, 'clients.json'), 'utf8');
    assert.ok(!stored.includes(key), 'only a hash of the key is stored');

    const mine = await curl(['-H', `Authorization: Bearer ${key}`, `${daemon.url}/v1/accounts/alpha/token`]);
    assert.equal(mine.status, 200);
    const theirs = await curl(['-H', `Authorization: Bearer ${key}`, `${daemon.url}/v1/accounts/beta/token`]);
    assert.equal(theirs.status, 403);
    assert.equal((theirs.json as { error: { code: string } }).error.code, 'account_not_granted');
    const visible = await curl(['-H', `Authorization: Bearer ${key}`, `${daemon.url}/v1/accounts`]);
    assert.deepEqual((visible.json as { accounts: Array<{ id: string }> }).accounts.map((a) => a.id), ['alpha']);
    const ownerOnly = await curl(['-H', `Authorization: Bearer ${key}`, `${daemon.url}/v1/clients`]);
    assert.equal(ownerOnly.status, 401);

    const listed = JSON.parse((await tokentray(daemon.env, ['clients', 'list', '--json'])).stdout) as { clients: Array<Record<string, unknown>> };
    const entry = listed.clients.find((c) => c['id'] === id)!;
    assert.deepEqual(Object.keys(entry).sort(), ['accounts', 'createdAt', 'id', 'lastUsedAt', 'name', 'status']);
    assert.equal(entry['status'], 'approved');
    assert.deepEqual(entry['accounts'], ['alpha']);
    assert.ok(entry['lastUsedAt'], 'last use is recorded');
    const audit = await curl(['-H', `Authorization: Bearer ${daemon.key}`, `${daemon.url}/v1/audit`]);
    assert.equal((audit.json as { entries: Array<{ client: string }> }).entries[0]!.client, id);

    assert.equal((await tokentray(daemon.env, ['clients', 'revoke', id])).code, 0);
    const revoked = await curl(['-H', `Authorization: Bearer ${key}`, `${daemon.url}/v1/accounts/alpha/token`]);
    assert.equal(revoked.status, 401);
  });

  test('on one keep-alive connection: each request is checked with the key it carries; a revoked key fails at once', async () => {
    const asking = curl(['-X', 'POST', '-H', 'Content-Type: application/json', '--data', '{"name":"long-lived tool"}', `${daemon.url}/v1/clients`]);
    const id = await pendingId('long-lived tool');
    assert.equal((await tokentray(daemon.env, ['clients', 'approve', id, '--account', 'alpha'])).code, 0);
    const { key } = (await asking).json as { key: string };
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string, bearer: string) => new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
      const req = request(`${daemon.url}${path}`, { agent, headers: { authorization: `Bearer ${bearer}` } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket }));
      });
      req.on('error', reject);
      req.end();
    });
    try {
      assert.equal((await get('/v1/accounts/alpha/token', key)).status, 200);
      const again = await get('/v1/accounts/alpha/token', key);
      assert.deepEqual(again, { status: 200, reused: true });
      assert.equal((await get('/v1/accounts/beta/token', key)).status, 403, 'still limited to alpha');
      assert.equal((await get('/v1/accounts/beta/token', daemon.key)).status, 200, 'the owner key on the same connection is the owner');
      assert.equal((await get('/v1/accounts/beta/token', key)).status, 403, 'and the client key after it is the client again');
      assert.equal((await get('/v1/accounts/alpha/token', `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`)).status, 401, 'one character off');
      assert.equal((await tokentray(daemon.env, ['clients', 'revoke', id])).code, 0);
      assert.deepEqual(await get('/v1/accounts/alpha/token', key), { status: 401, reused: true }, 'revoked: refused on the connection that used it a moment ago');
    } finally {
      agent.destroy();
    }
  });

  test('denied: 403 client_denied; nobody answers: 408 approval_timeout', async () => {
    const asking = curl(['-X', 'POST', '-H', 'Content-Type: application/json', '--data', '{"name":"curious tool"}', `${daemon.url}/v1/clients`]);
    const id = await pendingId('curious tool');
    assert.equal((await tokentray(daemon.env, ['clients', 'deny', id])).code, 0);
    const denied = await asking;
    assert.equal(denied.status, 403);
    assert.equal((denied.json as { error: { code: string } }).error.code, 'client_denied');
    const waiting = await curl(['-X', 'POST', '-H', 'Content-Type: application/json', '--data', '{"name":"patient tool","accounts":["beta"]}', `${daemon.url}/v1/clients`]);
    assert.equal(waiting.status, 408);
    assert.equal((waiting.json as { error: { code: string } }).error.code, 'approval_timeout');
    const bad = await curl(['-X', 'POST', '-H', 'Content-Type: application/json', '--data', '{"name":""}', `${daemon.url}/v1/clients`]);
    assert.equal(bad.status, 400);
  });
});
