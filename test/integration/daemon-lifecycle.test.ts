import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freshHome, startDaemon, tokentray, type Daemon } from '../fixtures/daemon.ts';
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
    const adding = new Promise<{ code: number; lines: Array<Record<string, unknown>> }>((resolve, reject) => {
      import('node:child_process').then(({ spawn }) => {
        const child = spawn(process.execPath, [join(process.cwd(), 'bin', 'tokentray.js'), 'add', 'Web', '--issuer', op.issuer, '--client-id', op.nativeClient.client_id, '--scope', 'openid offline_access', '--host', 'web.example', '--no-browser', '--json'], { env: daemon.env, stdio: ['ignore', 'pipe', 'inherit'] });
        const lines: Array<Record<string, unknown>> = [];
        let buffer = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          buffer += chunk;
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
            buffer = buffer.slice(nl + 1);
            lines.push(line);
            if (line['event'] === 'authorize') void op.signIn(String(line['url'])).catch(reject);
          }
        });
        child.on('exit', (code) => resolve({ code: code ?? 1, lines }));
      }, reject);
    });
    const { code, lines } = await adding;
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

  test('Ctrl-C on tokentray login stops the sign-in: its loopback listener closes', async () => {
    const daemon = daemons[0]!;
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [join(process.cwd(), 'bin', 'tokentray.js'), 'login', 'web', '--no-browser', '--json'], { env: daemon.env, stdio: ['ignore', 'pipe', 'ignore'] });
    const url = await new Promise<string>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        const match = /"url":"([^"]+)"/.exec(chunk);
        if (match) resolve(match[1]!);
      });
    });
    const redirect = new URL(url).searchParams.get('redirect_uri')!;
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    let closed = false;
    for (let i = 0; i < 40 && !closed; i++) {
      closed = await fetch(redirect).then(() => false, () => true);
      if (!closed) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(closed, 'the loopback listener closed once the CLI went away');
    assert.equal((await tokentray(daemon.env, ['status', 'web', '--json'])).code, 0);
    assert.equal(JSON.parse((await tokentray(daemon.env, ['status', 'web', '--json'])).stdout).status, 'valid', 'the account keeps its tokens');
  });

  test('SIGTERM during a refresh: the write lands, endpoint.json and the lock go, exit 0', async () => {
    const daemon = daemons[0]!;
    const refreshing = tokentray(daemon.env, ['refresh', 'web']);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(await daemon.stop('SIGTERM'), 0);
    await refreshing;
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
    const refreshToken = record!.refreshToken!;
    const seen = [...outputs, live.output()].join('\n');
    assert.match(seen, /"msg":"status"/, 'the scan read real daemon logs');
    assert.ok(!seen.includes(refreshToken));
    for (const file of await filesUnder(home)) {
      const text = await readFile(file, 'utf8').catch(() => '');
      assert.ok(!text.includes(refreshToken), `${file} holds the refresh token`);
      assert.ok(!text.includes(record!.accessToken!), `${file} holds the access token`);
    }
    for (const args of [['list', '--json'], ['status', 'web', '--json'], ['token', 'web', '--json'], ['refresh', 'web', '--json'], ['kube-credential', 'web']]) {
      const r = await tokentray(live.env, args);
      assert.ok(!r.stdout.includes(refreshToken) && !r.stderr.includes(refreshToken), args.join(' '));
      assert.doesNotMatch(r.stdout, /"refresh_token"|"refreshToken"/);
    }
  });
});
