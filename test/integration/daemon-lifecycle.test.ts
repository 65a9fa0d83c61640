import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freshHome, startDaemon, tokentray, tokentrayLines, type Daemon } from '../fixtures/daemon.ts';
import { privateService, storedRecord } from '../fixtures/keychain.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(dir, { recursive: true })) {
    const path = join(dir, String(name));
    if ((await stat(path)).isFile()) out.push(path);
  }
  return out;
}

describe('the daemon lifecycle', () => {
  let op: TestProvider;
  let home: string;
  const service = privateService('lifecycle');
  const daemons: Daemon[] = [];
  const outputs: string[] = [];
  before(async () => {
    op = await TestProvider.start({ accessTokenTtl: 600 });
    home = await freshHome();
  });
  after(async () => {
    for (const d of daemons) await d.cleanup();
    await op?.close();
  });
  async function start(): Promise<Daemon> {
    const d = await startDaemon({ home, service });
    daemons.push(d);
    return d;
  }

  test('add --no-browser --json prints the authorize line, then connected, once a person signs in', async () => {
    const daemon = await start();
    const signingIn: Promise<string>[] = [];
    const { code, lines } = await tokentrayLines(daemon.env, ['add', 'Web', '--issuer', op.issuer, '--client-id', op.nativeClient.client_id, '--scope', 'openid offline_access', '--host', 'web.example', '--no-browser', '--json'], (line) => {
      if (line['event'] === 'authorize') signingIn.push(op.signIn(String(line['url'])));
    });
    await Promise.all(signingIn);
    assert.equal(code, 0);
    assert.deepEqual(lines.map((l) => l['event']), ['authorize', 'connected']);
    assert.match(String(lines[0]!['url']), /^http:\/\/127\.0\.0\.1:\d+\/auth\?/);
    const account = lines[1]!['account'] as { id: string; status: string; hosts: string[] };
    assert.deepEqual([account.id, account.status, account.hosts], ['web', 'valid', ['web.example']]);
    const list = await tokentray(daemon.env, ['list', '--json']);
    assert.equal((JSON.parse(list.stdout) as { accounts: unknown[] }).accounts.length, 1);
    const human = await tokentray(daemon.env, ['status', 'web']);
    assert.match(human.stdout, /status: +valid/);
    outputs.push(daemon.output());
  });

  test('add --flow device --no-browser --json prints the device code, then connected, once the person approves', async () => {
    const daemon = daemons[0]!;
    const approving: Promise<string>[] = [];
    const { code, lines, stderr } = await tokentrayLines(daemon.env, ['add', 'TV', '--flow', 'device', '--issuer', op.issuer, '--client-id', op.nativeClient.client_id, '--scope', 'openid offline_access', '--no-browser', '--json'], (line) => {
      if (line['event'] === 'device_code') approving.push(op.approveDevice(String(line['verification_uri_complete'])));
    });
    await Promise.all(approving);
    assert.equal(code, 0, stderr);
    assert.deepEqual(lines.map((l) => l['event']), ['device_code', 'connected']);
    const device = lines[0]!;
    assert.match(String(device['user_code']), /\S{4,}/);
    assert.match(String(device['verification_uri']), /^http:\/\/127\.0\.0\.1:\d+\//);
    assert.ok(String(device['verification_uri_complete']).startsWith(String(device['verification_uri'])));
    assert.equal((lines[1]!['account'] as { status: string }).status, 'valid');
    assert.equal((await tokentray(daemon.env, ['token', 'tv'])).code, 0);
  });

  test('a sign-in the person denies: login --json ends in one failed line; the account keeps its tokens', async () => {
    const daemon = daemons[0]!;
    const before = (await tokentray(daemon.env, ['token', 'web'])).stdout;
    const denying: Promise<string>[] = [];
    const { code, lines, stderr } = await tokentrayLines(daemon.env, ['login', 'web', '--no-browser', '--json'], (line) => {
      if (line['event'] === 'authorize') denying.push(op.cancelSignIn(String(line['url'])));
    });
    await Promise.all(denying);
    assert.equal(code, 1);
    assert.deepEqual(lines.map((l) => l['event']), ['authorize', 'failed'], 'no line of another shape');
    const error = lines[1]!['error'] as { code: string; message: string };
    assert.equal(error.code, 'sign_in_failed');
    assert.match(error.message, /access_denied/);
    assert.match(stderr, /sign-in failed/);
    assert.equal((await tokentray(daemon.env, ['token', 'web'])).stdout, before, 'the previous tokens are untouched');
    // add whose sign-in fails: the same one failed line, and no account is left behind.
    const added = await tokentrayLines(daemon.env, ['add', 'Denied', '--issuer', op.issuer, '--client-id', op.nativeClient.client_id, '--scope', 'openid', '--no-browser', '--json'], (line) => {
      if (line['event'] === 'authorize') denying.push(op.cancelSignIn(String(line['url'])));
    });
    await Promise.all(denying);
    assert.equal(added.code, 1);
    assert.deepEqual(added.lines.map((l) => l['event']), ['authorize', 'failed']);
    assert.match(added.stderr, /"denied" was not added/);
    assert.equal((await tokentray(daemon.env, ['status', 'denied'])).code, 6);
  });

  test('Ctrl-C on tokentray login stops the sign-in: its loopback listener closes', async () => {
    const daemon = daemons[0]!;
    let redirect = '';
    const interrupted = await tokentrayLines(daemon.env, ['login', 'web', '--no-browser', '--json'], (line, child) => {
      if (line['event'] !== 'authorize') return;
      redirect = new URL(String(line['url'])).searchParams.get('redirect_uri')!;
      child.kill('SIGINT');
    });
    assert.equal(interrupted.signal, 'SIGINT');
    let closed = false;
    for (let i = 0; i < 40 && !closed; i++) {
      closed = await fetch(redirect).then(() => false, () => true);
      if (!closed) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(closed, 'the loopback listener closed once the CLI went away');
    assert.equal((await tokentray(daemon.env, ['status', 'web', '--json'])).code, 0);
    assert.equal(JSON.parse((await tokentray(daemon.env, ['status', 'web', '--json'])).stdout).status, 'valid', 'the account keeps its tokens');
  });

  test('Ctrl-C on tokentray add leaves no half-made account: the same add works right after', async () => {
    const daemon = daemons[0]!;
    const args = ['add', 'Interrupted', '--issuer', op.issuer, '--client-id', op.nativeClient.client_id, '--scope', 'openid offline_access', '--no-browser', '--json'];
    let redirect = '';
    const first = await tokentrayLines(daemon.env, args, (line, child) => {
      if (line['event'] !== 'authorize') return;
      redirect = new URL(String(line['url'])).searchParams.get('redirect_uri')!;
      child.kill('SIGINT');
    });
    assert.deepEqual([first.code, first.signal], [130, null], 'the CLI cleaned up, then exited 128 + SIGINT');
    assert.equal((await tokentray(daemon.env, ['status', 'interrupted'])).code, 6, 'no half-made account');
    assert.equal(await fetch(redirect).then(() => 'open', () => 'closed'), 'closed', 'the loopback listener closed');
    const signingIn: Promise<string>[] = [];
    const again = await tokentrayLines(daemon.env, args, (line) => {
      if (line['event'] === 'authorize') signingIn.push(op.signIn(String(line['url'])));
    });
    await Promise.all(signingIn);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await tokentray(daemon.env, ['remove', 'interrupted'])).code, 0);
  });

  test('SIGTERM during a refresh: the write lands, endpoint.json and the lock go, exit 0', async () => {
    const daemon = daemons[0]!;
    // The provider takes 2 s to answer this refresh: the signal surely comes while it is in flight.
    await op.setFault({ mode: 'delay', delayMs: 2_000, times: 1 });
    const sent = op.requests('refresh_token');
    const issued = op.issuedRefreshTokens.length;
    const refreshing = tokentray(daemon.env, ['refresh', 'web']);
    while (op.requests('refresh_token') === sent) await new Promise((r) => setTimeout(r, 10));
    assert.equal(op.issuedRefreshTokens.length, issued, 'the refresh is in flight: sent, not yet answered');
    const signalled = Date.now();
    assert.equal(await daemon.stop('SIGTERM'), 0);
    assert.ok(Date.now() - signalled >= 1_500, 'the broker waited for the refresh in flight before it exited');
    assert.equal(op.issuedRefreshTokens.length, issued + 1, 'the refresh was answered');
    await refreshing;
    assert.equal((await storedRecord(service, 'web'))?.refreshToken, op.issuedRefreshTokens.at(-1), 'and its rotated refresh token reached the keychain before the exit');
    outputs.push(daemon.output());
    assert.deepEqual((await readdir(home)).filter((n) => n === 'endpoint.json' || n === 'broker.lock'), []);
    const record = await storedRecord(service, 'web');
    assert.equal((await op.introspect(record!.refreshToken!)).active, true, 'the keychain holds the live refresh token, not a spent one');
    const after = await tokentray({ ...daemon.env }, ['token', 'web']);
    assert.equal(after.code, 3);
    assert.match(after.stderr, /tokentray serve/);
  });

  test('a SIGKILLed broker leaves a stale lock that the next broker takes over; a second live broker is refused', async () => {
    const first = await start();
    process.kill(first.pid, 'SIGKILL');
    await first.stop();
    outputs.push(first.output());
    const lock = JSON.parse(await readFile(join(home, 'broker.lock'), 'utf8')) as { pid: number };
    assert.equal(lock.pid, first.pid, 'the killed broker left its lock behind');
    const second = await start();
    assert.notEqual(second.pid, first.pid);
    const token = await tokentray(second.env, ['token', 'web']);
    assert.equal(token.code, 0, token.stderr);
    await assert.rejects(startDaemon({ home, service }), (error: Error) => /already running/.test(error.message) && /exited with 1/.test(error.message));
    outputs.push(second.output());
  });

  test('canary scan: no refresh token in any HTTP answer, log line or file under TOKENTRAY_HOME', async () => {
    const live = daemons[daemons.length - 1]!;
    const record = await storedRecord(service, 'web');
    // Every refresh token the provider issued to these brokers, the spent (rotated) ones too.
    const refreshTokens = op.issuedRefreshTokens;
    assert.ok(refreshTokens.length >= 3 && refreshTokens.includes(record!.refreshToken!), `${refreshTokens.length} refresh tokens issued`);
    const leaked = (text: string) => refreshTokens.filter((t) => text.includes(t)).length;
    for (const args of [['list', '--json'], ['status', 'web', '--json'], ['token', 'web', '--json'], ['refresh', 'web', '--json'], ['kube-credential', 'web']]) {
      const r = await tokentray(live.env, args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(leaked(r.stdout + r.stderr), 0, args.join(' '));
      assert.doesNotMatch(r.stdout, /"refresh_token"|"refreshToken"/);
    }
    const seen = [...outputs, live.output()].join('\n');
    assert.match(seen, /"msg":"status"/, 'the scan read real daemon logs');
    assert.equal(leaked(seen), 0, 'no refresh token in any log line');
    for (const file of await filesUnder(home)) {
      const text = await readFile(file, 'utf8').catch(() => '');
      assert.equal(leaked(text), 0, `${file} holds a refresh token`);
      assert.ok(!text.includes(record!.accessToken!), `${file} holds the access token`);
    }
  });
});
