// Edges a tool meets: a frozen broker, a child killed by a signal, a flood of key requests.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { curl, startDaemon, tokentray, type Daemon } from '../fixtures/daemon.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';

describe('the CLI and the endpoint at their edges', () => {
  let op: TestProvider;
  let daemon: Daemon;
  before(async () => {
    op = await TestProvider.start();
    daemon = await startDaemon();
    const added = await tokentray(daemon.env, ['add', 'Machine', '--token-endpoint', op.tokenEndpoint, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials', '--scope', 'api:read', '--host', '127.0.0.1'], op.confidentialClient.client_secret);
    assert.equal(added.code, 0, added.stderr);
  });
  after(async () => {
    daemon?.process.kill('SIGCONT');
    await daemon?.cleanup();
    await op?.close();
  });

  test('a frozen broker (kill -STOP): tokentray token and the git credential helper give up within 10 s', async () => {
    daemon.process.kill('SIGSTOP');
    try {
      const token = await tokentray(daemon.env, ['token', 'machine']);
      assert.equal(token.code, 3, token.stderr);
      assert.ok(token.ms < 10_000, `${Math.round(token.ms)} ms`);
      assert.match(token.stderr, /did not answer within 9 s: it may be stopped or frozen/);
      const git = await tokentray(daemon.env, ['git-credential', 'get'], 'protocol=https\nhost=127.0.0.1\n\n');
      assert.notEqual(git.code, 0);
      assert.ok(git.ms < 10_000, `git waited ${Math.round(git.ms)} ms`);
      assert.doesNotMatch(git.stdout, /password=/);
    } finally {
      daemon.process.kill('SIGCONT');
    }
    assert.equal((await tokentray(daemon.env, ['token', 'machine'])).code, 0, 'thawed, it answers again');
  });

  test('tokentray run reports a signal death as 128 + the signal number', async () => {
    assert.equal((await tokentray(daemon.env, ['run', '--env', 'T=machine', '--', 'sh', '-c', 'kill -TERM $$'])).code, 143);
    assert.equal((await tokentray(daemon.env, ['run', '--env', 'T=machine', '--', 'sh', '-c', 'kill -KILL $$'])).code, 137);
    assert.equal((await tokentray(daemon.env, ['run', '--env', 'T=machine', '--', 'sh', '-c', 'test -n "$T" && exit 3'])).code, 3);
  });

  test('too many key requests: 429 rate_limited with Retry-After, not 400', async () => {
    const ask = () => curl(['-m', '1', '-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', '{"name":"flood"}', `${daemon.url}/v1/clients`]).catch(() => null);
    await Promise.all(Array.from({ length: 10 }, ask)); // each waits for a person, then gives up after 1 s
    const refused = await curl(['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', '{"name":"flood"}', `${daemon.url}/v1/clients`]);
    assert.equal(refused.status, 429);
    assert.equal((refused.json as { error: { code: string } }).error.code, 'rate_limited');
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${refused.headers['retry-after']}`);
  });

  test('two revocations at the same moment both hold (4 of 4 tries), with a last-use save in between', async () => {
    // Its own broker: the flood above used up this minute's key requests.
    const main = daemon;
    daemon = await startDaemon();
    try {
      await revocations();
    } finally {
      await daemon.cleanup();
      daemon = main;
    }
  });

  async function revocations(): Promise<void> {
    const added = await tokentray(daemon.env, ['add', 'Machine', '--token-endpoint', op.tokenEndpoint, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials', '--scope', 'api:read'], op.confidentialClient.client_secret);
    assert.equal(added.code, 0, added.stderr);
    const owner = ['-H', `Authorization: Bearer ${daemon.key}`];
    const approvedKey = async (name: string): Promise<{ id: string; key: string }> => {
      const asking = curl(['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify({ name }), `${daemon.url}/v1/clients`]);
      let id: string | undefined;
      for (let i = 0; i < 100 && !id; i++) {
        const list = (await curl([...owner, `${daemon.url}/v1/clients`])).json as { clients: Array<{ id: string; name: string; status: string }> };
        id = list.clients.find((c) => c.name === name && c.status === 'pending')?.id;
        if (!id) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(id, `the request of ${name} is pending`);
      assert.equal((await curl([...owner, '-X', 'POST', `${daemon.url}/v1/clients/${id}/approve`])).status, 200);
      return (await asking).json as { id: string; key: string };
    };
    for (let round = 0; round < 4; round++) {
      const a = await approvedKey(`tool-a-${round}`);
      const b = await approvedKey(`tool-b-${round}`);
      await curl(['-H', `Authorization: Bearer ${a.key}`, `${daemon.url}/v1/accounts/machine/token`]); // a last use to save
      const [ra, rb] = await Promise.all([curl([...owner, '-X', 'DELETE', `${daemon.url}/v1/clients/${a.id}`]), curl([...owner, '-X', 'DELETE', `${daemon.url}/v1/clients/${b.id}`])]);
      assert.deepEqual([ra.status, rb.status], [200, 200]);
      for (const key of [a.key, b.key]) assert.equal((await curl(['-H', `Authorization: Bearer ${key}`, `${daemon.url}/v1/accounts/machine/token`])).status, 401, `round ${round}: a revoked key still works`);
    }
    const stored = JSON.parse(await readFile(join(daemon.home, 'clients.json'), 'utf8')) as { clients: Array<{ name: string; status: string }> };
    assert.deepEqual(stored.clients.filter((c) => c.name.startsWith('tool-')).map((c) => c.status), Array(8).fill('revoked'), 'and so says clients.json');
  }
});
