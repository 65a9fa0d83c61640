import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../fixtures/broker-harness.ts';
import { curl, startDaemon, tokentray, type Daemon } from '../fixtures/daemon.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';

describe('tokentray serve: the HTTP API with curl', () => {
  let op: TestProvider;
  let daemon: Daemon;
  const bearer = () => ['-H', `Authorization: Bearer ${daemon.key}`];

  before(async () => {
    op = await TestProvider.start({ clientCredentialsTtl: 600 });
    daemon = await startDaemon({ env: { TOKENTRAY_HEARTBEAT: '1' } });
    const added = await tokentray(daemon.env, ['add', 'Machine', '--token-endpoint', op.tokenEndpoint, '--revocation-endpoint', `${op.issuer}/token/revocation`, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials', '--scope', 'api:read', '--json'], op.confidentialClient.client_secret);
    assert.equal(added.code, 0, added.stderr);
    const lines = added.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; account?: { id: string; status: string } });
    assert.deepEqual(lines.map((l) => l.event), ['connected'], 'flows without a person print only the last line');
    assert.equal(lines[0]!.account!.id, 'machine');
  });
  after(async () => {
    await daemon?.cleanup();
    await op?.close();
  });

  test('endpoint.json is 0600 and the socket folder 0700', async () => {
    assert.equal((await stat(join(daemon.home, 'endpoint.json'))).mode & 0o777, 0o600);
    assert.ok(daemon.socket);
    assert.equal((await stat(join(daemon.socket, '..'))).mode & 0o777, 0o700);
    const endpoint = JSON.parse(await readFile(join(daemon.home, 'endpoint.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(endpoint).sort(), ['key', 'pid', 'socket', 'url', 'version']);
  });

  test('GET /v1/health needs no key and says only ok and the version', async () => {
    const r = await curl([`${daemon.url}/v1/health`]);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { ok: true, version: '0.1.0' });
    assert.equal(r.headers['cache-control'], 'no-store');
  });

  test('GET /v1/accounts and /v1/accounts/{id}: AccountView shapes', async () => {
    const list = await curl([...bearer(), `${daemon.url}/v1/accounts`]);
    assert.equal(list.status, 200);
    const accounts = (list.json as { accounts: Array<Record<string, unknown>> }).accounts;
    assert.equal(accounts.length, 1);
    assert.deepEqual(Object.keys(accounts[0]!).sort(), ['accessTokenExpiresAt', 'flow', 'hosts', 'id', 'lastError', 'lastRefreshAt', 'name', 'nextRefreshAt', 'persisted', 'provider', 'refreshTokenExpiresAt', 'scopes', 'status'].sort());
    const one = await curl([...bearer(), `${daemon.url}/v1/accounts/machine`]);
    assert.equal((one.json as { status: string }).status, 'valid');
    assert.equal((one.json as { persisted: boolean }).persisted, true);
    const missing = await curl([...bearer(), `${daemon.url}/v1/accounts/nobody`]);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, { error: { code: 'account_not_found', message: 'no account with id "nobody"' } });
  });

  test('GET /v1/accounts/{id}/token: the documented shape, no-store, the token active at the provider', async () => {
    const r = await curl([...bearer(), `${daemon.url}/v1/accounts/machine/token?min_ttl=60`]);
    assert.equal(r.status, 200);
    const body = r.json as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'account', 'expires_at', 'expires_in', 'scope', 'token_type']);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal((await op.introspect(String(body['access_token']))).active, true);
    assert.ok(Number(body['expires_in']) > 500);
    const bad = await curl([...bearer(), `${daemon.url}/v1/accounts/machine/token?min_ttl=soon`]);
    assert.equal(bad.status, 400);
    assert.equal((bad.json as { error: { code: string } }).error.code, 'bad_request');
  });

  test('POST /v1/accounts/{id}/refresh returns the account after a refresh', async () => {
    const before = op.requests('client_credentials');
    const r = await curl([...bearer(), '-X', 'POST', `${daemon.url}/v1/accounts/machine/refresh`]);
    assert.equal(r.status, 200);
    assert.equal((r.json as { status: string }).status, 'valid');
    assert.equal(op.requests('client_credentials'), before + 1);
  });

  test('GET /v1/events streams status changes with heartbeats', async () => {
    const stream = spawn('curl', ['-sS', '-N', '--max-time', '20', ...bearer(), `${daemon.url}/v1/events`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let body = '';
    stream.stdout.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    try {
      // Subscribed once the stream's first comment arrives; only then is a status change sure to reach it.
      await eventually('the stream opens', () => body.includes(': connected'), 10_000);
      await curl([...bearer(), '-X', 'POST', `${daemon.url}/v1/accounts/machine/refresh`]);
      await eventually('refreshing, then valid, then a heartbeat', () => /"status":"valid"[\s\S]*: heartbeat /.test(body), 10_000);
    } finally {
      stream.kill();
    }
    assert.match(body, /event: status\ndata: \{"previous":"valid","account":\{"id":"machine"[^\n]*"status":"refreshing"/);
    assert.match(body, /event: status\ndata: \{"previous":"refreshing","account":\{"id":"machine"[^\n]*"status":"valid"/);
    assert.doesNotMatch(body, /access_token|refresh_token/);
  });

  test('every documented error code, each through curl', async () => {
    const url = daemon.url;
    const code = (r: { json: unknown }) => (r.json as { error: { code: string } }).error.code;
    const noKey = await curl([`${url}/v1/accounts`]);
    assert.deepEqual([noKey.status, code(noKey)], [401, 'unauthorized']);
    const wrongKey = await curl(['-H', 'Authorization: Bearer tto_wrong-key-0123456789abcdef', `${url}/v1/accounts`]);
    assert.deepEqual([wrongKey.status, code(wrongKey)], [401, 'unauthorized']);
    const keyInQuery = await curl([`${url}/v1/accounts?key=${daemon.key}`]);
    assert.deepEqual([keyInQuery.status, code(keyInQuery)], [400, 'bad_request']);
    const host = await curl([...bearer(), '-H', 'Host: evil.example', `${url}/v1/accounts`]);
    assert.deepEqual([host.status, code(host)], [403, 'forbidden_host']);
    const origin = await curl([...bearer(), '-H', 'Origin: https://evil.example', `${url}/v1/accounts`]);
    assert.deepEqual([origin.status, code(origin)], [403, 'forbidden_origin']);
    const big = await curl([...bearer(), '-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', `{"name":"${'x'.repeat(70_000)}"}`, `${url}/v1/accounts`]);
    assert.deepEqual([big.status, code(big)], [413, 'payload_too_large']);
    const notJson = await curl([...bearer(), '-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', '{"name":', `${url}/v1/accounts`]);
    assert.deepEqual([notJson.status, code(notJson)], [400, 'bad_request']);
    const unknownField = await curl([...bearer(), '-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', '{"name":"x","refreshToken":"y"}', `${url}/v1/accounts`]);
    assert.deepEqual([unknownField.status, code(unknownField)], [400, 'bad_request']);
    const exists = await tokentray(daemon.env, ['add', 'Machine', '--token-endpoint', op.tokenEndpoint, '--client-id', 'x', '--flow', 'client-credentials']);
    assert.equal(exists.code, 1);
    assert.match(exists.stderr, /exists already/);
    const existsOverHttp = await curl([...bearer(), '-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify({ name: 'Machine', flow: 'client-credentials', tokenEndpoint: op.tokenEndpoint, clientId: 'x' }), `${url}/v1/accounts`]);
    assert.deepEqual([existsOverHttp.status, code(existsOverHttp)], [409, 'account_exists']);
    const noSuchAccount = await curl([...bearer(), `${url}/v1/accounts/nobody/token`]);
    assert.deepEqual([noSuchAccount.status, code(noSuchAccount)], [404, 'account_not_found']);
    const noSuchRoute = await curl([...bearer(), `${url}/v1/nothing-here`]);
    assert.deepEqual([noSuchRoute.status, code(noSuchRoute)], [404, 'not_found']);
    const wrongMethod = await curl([...bearer(), '-X', 'PUT', `${url}/v1/accounts/machine/token`]);
    assert.deepEqual([wrongMethod.status, code(wrongMethod), wrongMethod.headers['allow']], [405, 'bad_request', 'GET']);
    const crossSite = await curl([...bearer(), '-H', 'Sec-Fetch-Site: cross-site', `${url}/v1/accounts`]);
    assert.deepEqual([crossSite.status, code(crossSite)], [403, 'forbidden_origin']);

    // 423 locked: refresh goes on, tokens are refused.
    assert.equal((await curl([...bearer(), '-X', 'POST', `${url}/v1/lock`])).status, 200);
    const locked = await curl([...bearer(), `${url}/v1/accounts/machine/token`]);
    assert.deepEqual([locked.status, code(locked)], [423, 'locked']);
    assert.equal((await tokentray(daemon.env, ['token', 'machine'])).code, 7);
    assert.equal((await curl([...bearer(), '-X', 'POST', `${url}/v1/unlock`])).status, 200);

    // 409 reauth_required: a pasted token that expired.
    const pasted = await tokentray(daemon.env, ['add', 'Pasted', '--flow', 'manual', '--token-stdin', '--expires-at', new Date(Date.now() + 3000).toISOString()], 'opaque-personal-access-token-value');
    assert.equal(pasted.code, 0, pasted.stderr);
    let reauth = await curl([...bearer(), `${url}/v1/accounts/pasted/token`]);
    assert.equal(reauth.status, 200, 'served until it expires');
    await eventually('the pasted token expires', async () => (reauth = await curl([...bearer(), `${url}/v1/accounts/pasted/token`])).status !== 200, 10_000, 250);
    assert.deepEqual([reauth.status, code(reauth)], [409, 'reauth_required']);
    assert.equal((await tokentray(daemon.env, ['token', 'pasted'])).code, 4);
    const shown = (await tokentray(daemon.env, ['status', 'pasted'])).stdout;
    assert.match(shown, /status: +reauth_required/);
    assert.match(shown, /access token: +expired at \d{4}-/);
    assert.match(shown, /refresh token: +no known expiry/);
    assert.match((await tokentray(daemon.env, ['status', 'machine'])).stdout, /access token: +expires in \d+[smhd] \(/);

    // 503 provider_unavailable with Retry-After: no valid token and the provider refuses connections.
    op.settings.clientCredentialsTtl = 2;
    await curl([...bearer(), '-X', 'POST', `${url}/v1/accounts/machine/refresh`]);
    await op.setFault({ mode: 'refuse' });
    await sleep(2200);
    const started = Date.now();
    const unavailable = await curl([...bearer(), `${url}/v1/accounts/machine/token`]);
    assert.deepEqual([unavailable.status, code(unavailable)], [503, 'provider_unavailable']);
    assert.match(unavailable.headers['retry-after'] ?? '', /^\d+$/);
    const cli = await tokentray(daemon.env, ['token', 'machine']);
    assert.equal(cli.code, 5);
    assert.ok(Date.now() - started < 20_000);
    assert.ok(cli.ms < 10_000, `the CLI answered in ${Math.round(cli.ms)} ms`);
    await op.setFault(null);
    op.settings.clientCredentialsTtl = 600;
    await curl([...bearer(), '-X', 'POST', `${url}/v1/accounts/machine/refresh`]);
  });

  test('add whose first sign-in fails leaves no half-made account, and says why', async () => {
    const r = await tokentray(daemon.env, ['add', 'Wrong secret', '--token-endpoint', op.tokenEndpoint, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials'], 'not-the-secret');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid_client/);
    assert.match(r.stderr, /was not added/);
    const list = JSON.parse((await tokentray(daemon.env, ['list', '--json'])).stdout) as { accounts: Array<{ id: string }> };
    assert.ok(!list.accounts.some((a) => a.id === 'wrong-secret'));
    await op.setFault({ mode: '503', retryAfter: 1, times: 1 });
    const down = await tokentray(daemon.env, ['add', 'Provider down', '--token-endpoint', op.tokenEndpoint, '--client-id', op.confidentialClient.client_id, '--client-secret-stdin', '--flow', 'client-credentials', '--json'], op.confidentialClient.client_secret);
    assert.equal(down.code, 5, 'provider unavailable');
    assert.deepEqual(down.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { error?: { code: string } }).error?.code), ['provider_unavailable']);
    await op.setFault(null);
    const usage = await tokentray(daemon.env, ['add', 'No client', '--token-endpoint', op.tokenEndpoint]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--client-id: the client id is required/);
  });

  test('the audit log records who got which token, without the token', async () => {
    const token = await tokentray(daemon.env, ['token', 'machine']);
    assert.equal(token.code, 0);
    const r = await curl([...bearer(), `${daemon.url}/v1/audit?limit=5`]);
    const entries = (r.json as { entries: Array<Record<string, string>> }).entries;
    assert.equal(entries[0]!.account, 'machine');
    assert.equal(entries[0]!.client, 'owner');
    assert.equal(entries[0]!.route, 'token');
    assert.ok(!r.body.includes(token.stdout.trim()));
    const file = await readFile(join(daemon.home, 'audit.jsonl'), 'utf8');
    assert.ok(!file.includes(token.stdout.trim()));
  });

  test('no response carries a CORS header, and no file under the home holds a token', async () => {
    for (const path of ['/v1/health', '/v1/accounts', '/v1/accounts/machine/token', '/v1/nope']) {
      const r = await curl([...bearer(), '-H', 'Origin: http://127.0.0.1', `${daemon.url}${path}`]);
      assert.ok(!Object.keys(r.headers).some((h) => h.startsWith('access-control-')), path);
    }
    const token = (await tokentray(daemon.env, ['token', 'machine'])).stdout.trim();
    for (const name of await readdir(daemon.home, { recursive: true })) {
      const path = join(daemon.home, String(name));
      if (!(await stat(path)).isFile()) continue;
      assert.ok(!(await readFile(path, 'utf8')).includes(token), `${name} holds a token`);
    }
  });
});
