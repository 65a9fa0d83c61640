import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { curl, startDaemon, tokentray, type Daemon } from '../fixtures/daemon.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';
import { raw, status } from '../fixtures/raw-http.ts';

describe('the endpoint against hostile clients (raw sockets)', () => {
  let op: TestProvider;
  let daemon: Daemon;
  before(async () => {
    op = await TestProvider.start();
    daemon = await startDaemon();
    const added = await tokentray(daemon.env, ['add', 'A', '--token-endpoint', op.tokenEndpoint, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials'], op.confidentialClient.client_secret);
    assert.equal(added.code, 0, added.stderr);
  });
  after(async () => {
    await daemon?.cleanup();
    await op?.close();
  });

  test('the guard matrix: each hostile request gets its documented status, and no CORS header', async () => {
    const p = daemon.port;
    const key = daemon.key;
    const get = (path: string, headers: string[]) => `GET ${path} HTTP/1.1\r\n${headers.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`;
    const host = `Host: 127.0.0.1:${p}`;
    const auth = `Authorization: Bearer ${key}`;
    const cases: Array<[string, string, number, string | null]> = [
      ['no key', get('/v1/accounts', [host]), 401, 'unauthorized'],
      ['wrong key', get('/v1/accounts', [host, 'Authorization: Bearer tto_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx']), 401, 'unauthorized'],
      ['key only in the query string', get(`/v1/accounts?key=${key}`, [host]), 400, 'bad_request'],
      ['key in the query string too', get(`/v1/accounts?access_token=${key}`, [host, auth]), 400, 'bad_request'],
      ['Host evil.example', get('/v1/accounts', ['Host: evil.example', auth]), 403, 'forbidden_host'],
      ['Host localhost.evil.example', get('/v1/accounts', [`Host: localhost.evil.example:${p}`, auth]), 403, 'forbidden_host'],
      ['Host with another port', get('/v1/accounts', [`Host: 127.0.0.1:${p + 1}`, auth]), 403, 'forbidden_host'],
      ['no Host (HTTP/1.1)', get('/v1/accounts', [auth]), 400, 'bad_request'],
      ['no Host (HTTP/1.0)', `GET /v1/accounts HTTP/1.0\r\n${auth}\r\n\r\n`, 400, 'bad_request'],
      ['empty Host', get('/v1/accounts', ['Host: ', auth]), 400, 'bad_request'],
      ['Origin evil', get('/v1/accounts', [host, auth, 'Origin: https://evil.example']), 403, 'forbidden_origin'],
      ['Origin null', get('/v1/accounts', [host, auth, 'Origin: null']), 403, 'forbidden_origin'],
      ['Sec-Fetch-Site cross-site', get('/v1/accounts', [host, auth, 'Sec-Fetch-Site: cross-site']), 403, 'forbidden_origin'],
      ['localhost is fine', get('/v1/accounts', [`Host: localhost:${p}`, auth]), 200, null],
      ['[::1] is fine', get('/v1/health', [`Host: [::1]:${p}`]), 200, null],
    ];
    for (const [label, request, expected, code] of cases) {
      const { text } = await raw(p, request);
      assert.equal(status(text), expected, `${label}: ${text.split('\r\n')[0]}`);
      if (code) assert.match(text, new RegExp(`"code":"${code}"`), label);
      assert.doesNotMatch(text, /access-control-/i, label);
      if (expected !== 200) assert.match(text, /cache-control: no-store/i, label);
    }
  });

  test('a 1 MB body is refused (413 or a closed connection), never read whole', async () => {
    const body = Buffer.alloc(1024 * 1024, 'a');
    const { text, closed } = await raw(daemon.port, Buffer.concat([Buffer.from(`POST /v1/accounts HTTP/1.1\r\nHost: 127.0.0.1:${daemon.port}\r\nAuthorization: Bearer ${daemon.key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
    assert.ok(status(text) === 413 || closed, text.slice(0, 200));
    if (status(text)) assert.match(text, /payload_too_large/);
    const chunked = await raw(daemon.port, `POST /v1/clients HTTP/1.1\r\nHost: 127.0.0.1:${daemon.port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${(100_000).toString(16)}\r\n${'b'.repeat(100_000)}\r\n0\r\n\r\n`);
    assert.ok(status(chunked.text) === 413 || chunked.closed);
  });

  test('10,000 connections of random bytes: answered 400 or closed, never a crash', async () => {
    let answered = 0;
    let closed = 0;
    const total = 10_000;
    let next = 0;
    const worker = async () => {
      while (next < total) {
        next++;
        const bytes = randomBytes(16 + Math.floor(Math.random() * 512));
        const r = await raw(daemon.port, bytes, 3_000);
        if (status(r.text) === 400) answered++;
        else closed++;
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: 50 }, worker));
    console.log(`# 10,000 garbage connections in ${Date.now() - started} ms: ${answered} answered 400, ${closed} closed`);
    assert.equal(answered + closed, total);
    assert.equal(daemon.process.exitCode, null, 'the daemon is still running');
    assert.equal((await curl([`${daemon.url}/v1/health`])).status, 200);
  });

  test('a slowloris client is cut off; the daemon keeps answering others', async () => {
    const sockets: Socket[] = [];
    const closedAt: number[] = [];
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      const socket = connect(daemon.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('close', () => closedAt.push(Date.now() - started));
      socket.write(`GET /v1/accounts HTTP/1.1\r\nHost: 127.0.0.1:${daemon.port}\r\n`);
      sockets.push(socket);
    }
    const drip = setInterval(() => { for (const s of sockets) if (!s.destroyed) s.write(`X-Slow-${Math.random().toString(36).slice(2)}: a\r\n`); }, 1_000);
    try {
      assert.equal((await curl([`${daemon.url}/v1/health`])).status, 200, 'others are served meanwhile');
      for (let waited = 0; closedAt.length < sockets.length && waited < 25_000; waited += 250) await sleep(250);
      assert.equal(closedAt.length, sockets.length, 'every slow client was disconnected');
      assert.ok(Math.max(...closedAt) < 20_000, `cut off after ${Math.max(...closedAt)} ms`);
    } finally {
      clearInterval(drip);
      for (const s of sockets) s.destroy();
    }
    assert.equal((await curl([`${daemon.url}/v1/health`])).status, 200);
  });

  test('the Unix socket needs the key too, and has no Host check', async () => {
    const noKey = await curl(['--unix-socket', daemon.socket!, 'http://tokentray/v1/accounts']);
    assert.equal(noKey.status, 401);
    const withKey = await curl(['--unix-socket', daemon.socket!, '-H', `Authorization: Bearer ${daemon.key}`, 'http://anything/v1/accounts/a/token']);
    assert.equal(withKey.status, 200);
    assert.ok((withKey.json as { access_token: string }).access_token);
  });
});
