import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, startDaemon, tokentray, type Daemon } from '../fixtures/daemon.ts';
import { gitServer } from '../fixtures/git-server.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';

function git(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, env, encoding: 'utf8' }, (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }));
  });
}

describe('integrations: git, kubectl, run', () => {
  let op: TestProvider;
  let daemon: Daemon;
  before(async () => {
    op = await TestProvider.start();
    daemon = await startDaemon();
    const added = await tokentray(daemon.env, ['add', 'Git host', '--id', 'forge', '--token-endpoint', op.tokenEndpoint, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials', '--scope', 'api:read', '--host', '127.0.0.1'], op.confidentialClient.client_secret);
    assert.equal(added.code, 0, added.stderr);
  });
  after(async () => {
    await daemon?.cleanup();
    await op?.close();
  });

  test('real git clones and pushes over smart HTTP through tokentray git-credential; no token lands in git', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tt-git-'));
    const home = await mkdtemp(join(tmpdir(), 'tt-git-home-'));
    const env = { ...daemon.env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.test', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.test' };
    assert.equal((await git(root, ['init', '-q', '--bare', '-b', 'main', 'repo.git'], env)).code, 0);
    assert.equal((await git(join(root, 'repo.git'), ['config', 'http.receivepack', 'true'], env)).code, 0);
    assert.equal((await git(root, ['init', '-q', '-b', 'main', 'seed'], env)).code, 0);
    await writeFile(join(root, 'seed', 'README'), 'hello\n');
    await git(join(root, 'seed'), ['add', '.'], env);
    await git(join(root, 'seed'), ['commit', '-q', '-m', 'seed'], env);
    assert.equal((await git(join(root, 'seed'), ['push', '-q', join(root, 'repo.git'), 'main'], env)).code, 0);

    const server = await gitServer(root, async (token) => (await op.introspect(token)).active);
    try {
      const helper = ['-c', 'credential.helper=', '-c', `credential.helper=!"${process.execPath}" "${BIN}" git-credential`];
      const denied = await git(root, ['-c', 'credential.helper=', 'clone', '-q', `${server.url}/repo.git`, 'nope'], env);
      assert.notEqual(denied.code, 0, 'without the helper the server refuses');
      const clone = await git(root, [...helper, 'clone', `${server.url}/repo.git`, 'work'], env);
      assert.equal(clone.code, 0, clone.out);
      await writeFile(join(root, 'work', 'CHANGE'), 'pushed through tokentray\n');
      await git(join(root, 'work'), ['add', '.'], env);
      await git(join(root, 'work'), ['commit', '-q', '-m', 'change'], env);
      const push = await git(join(root, 'work'), [...helper, 'push', 'origin', 'main'], env);
      assert.equal(push.code, 0, push.out);
      const log = await git(join(root, 'repo.git'), ['log', '--oneline', 'main'], env);
      assert.match(log.out, /change/);
      assert.ok(server.seen.allowed >= 2);

      const token = (await tokentray(daemon.env, ['token', 'forge'])).stdout.trim();
      const config = await readFile(join(root, 'work', '.git', 'config'), 'utf8');
      assert.ok(!config.includes(token), '.git/config holds no token');
      assert.doesNotMatch(config, /ttk_|tto_/);
      for (const out of [clone.out, push.out]) assert.ok(!out.includes(token), 'git printed no token');
      await assert.rejects(readFile(join(home, '.git-credentials'), 'utf8'), 'nothing was stored by another helper');
    } finally {
      server.close();
    }
  });

  test('git-credential: username and password for a matching host; silence for others; store/erase write nothing', async () => {
    const get = await tokentray(daemon.env, ['git-credential', 'get'], 'protocol=http\nhost=127.0.0.1:9999\n\n');
    assert.equal(get.code, 0);
    assert.match(get.stdout, /^username=oauth2\npassword=\S+\n$/);
    const other = await tokentray(daemon.env, ['git-credential', 'get'], 'protocol=https\nhost=github.com\n\n');
    assert.deepEqual([other.code, other.stdout], [0, '']);
    // A host with a port serves only that port; a bare host serves every port; a preset names the username.
    const pinned = await tokentray(daemon.env, ['add', 'Pinned forge', '--id', 'pinned', '--token-endpoint', op.tokenEndpoint, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials', '--scope', 'api:read', '--host', 'git.internal.test:8443', '--preset', 'github', '--token-endpoint-auth', 'client_secret_basic'], op.confidentialClient.client_secret);
    assert.equal(pinned.code, 0, pinned.stderr);
    const onPort = await tokentray(daemon.env, ['git-credential', 'get'], 'protocol=https\nhost=git.internal.test:8443\n\n');
    const pinnedToken = (await tokentray(daemon.env, ['token', 'pinned'])).stdout.trim();
    assert.equal(onPort.stdout, `username=x-access-token\npassword=${pinnedToken}\n`, 'the GitHub preset names the username GitHub expects');
    for (const elsewhere of ['git.internal.test', 'git.internal.test:9443']) {
      const r = await tokentray(daemon.env, ['git-credential', 'get'], `protocol=https\nhost=${elsewhere}\n\n`);
      assert.deepEqual([r.code, r.stdout], [0, ''], elsewhere);
    }
    assert.equal((await tokentray(daemon.env, ['remove', 'pinned', '--keep-remote'])).code, 0);
    for (const op2 of ['store', 'erase']) {
      const r = await tokentray(daemon.env, ['git-credential', op2], 'protocol=https\nhost=127.0.0.1\nusername=x\npassword=secret-from-git\n\n');
      assert.deepEqual([r.code, r.stdout], [0, '']);
    }
  });

  test('kube-credential prints a valid client.authentication.k8s.io/v1 ExecCredential', async () => {
    const r = await tokentray(daemon.env, ['kube-credential', 'forge']);
    assert.equal(r.code, 0, r.stderr);
    const credential = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(credential).sort(), ['apiVersion', 'kind', 'status']);
    assert.equal(credential['apiVersion'], 'client.authentication.k8s.io/v1');
    assert.equal(credential['kind'], 'ExecCredential');
    const status = credential['status'] as Record<string, string>;
    assert.deepEqual(Object.keys(status).sort(), ['expirationTimestamp', 'token']);
    assert.match(status['expirationTimestamp']!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Date.parse(status['expirationTimestamp']!) > Date.now());
    assert.equal((await op.introspect(status['token']!)).active, true);
  });

  test('run passes the token to the child only, and returns its exit code', async () => {
    const r = await tokentray(daemon.env, ['run', '--env', 'FORGE_TOKEN=forge', '--', process.execPath, '-e', 'process.stdout.write(process.env.FORGE_TOKEN ?? "none"); process.exit(3)']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal((await op.introspect(r.stdout)).active, true);
    assert.equal(process.env['FORGE_TOKEN'], undefined);
    const usage = await tokentray(daemon.env, ['run', '--env', 'FORGE_TOKEN=forge']);
    assert.equal(usage.code, 2);
    const missing = await tokentray(daemon.env, ['run', '--env', 'X=nobody', '--', 'true']);
    assert.equal(missing.code, 6);
  });
});
