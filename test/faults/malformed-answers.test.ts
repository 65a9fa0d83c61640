// REQUIREMENTS 8 against a token endpoint that answers anything but a token response: 30+
// kinds of malformed answer, 1,000 generated in all (seeded: TOKENTRAY_MALFORMED_SEED repeats a
// run), each sent to a real broker's refresh — half to an account whose refresh goes through
// the keychain process (refresh-journal.ts), half to a client-credentials account sent from
// the broker itself. For every one: the error code and status the kind should give (a
// transient failure never becomes reauth_required or misconfigured), no crash, the previous
// token still served, the stored record untouched (or, for a clamped expiry, the new one),
// and memory bounded however large the answer.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { brokerHarness, type Harness } from '../fixtures/broker-harness.ts';
import { storedRecord } from '../fixtures/keychain.ts';
import { seeded } from '../fixtures/seeded.ts';
import { keychainWorkerPids } from '../fixtures/process-resources.ts';
import type { Fault } from '../fixtures/provider/faults.ts';
import { TestProvider } from '../fixtures/provider/test-provider.ts';

const TOTAL = Number(process.env['TOKENTRAY_MALFORMED_TOTAL'] ?? 1_000);
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => { for (const step of cleanup.reverse()) await step().catch(() => undefined); });

type Outcome =
  | { code: 'provider_unavailable' | 'provider_error'; status: 'retrying' } // transient: backed off, retried
  | { code: 'misconfigured'; status: 'misconfigured' } // the provider refused this client (REQUIREMENTS 8)
  | { code: null; status: 'valid' }; // a real answer with an absurd number in it: clamped, stored, served

interface Kind {
  name: string;
  outcome: Outcome;
  /** Generates one answer of this kind. */
  fault: (random: () => number) => Fault;
  /** Slow kinds (they wait out the request timeout) get fewer instances. */
  slow?: boolean;
  /** The provider issued (and rotated) tokens, then the answer was spoiled: the new refresh token is kept, nothing else. */
  keepsIssued?: boolean;
}

const transient = { code: 'provider_unavailable', status: 'retrying' } as const;
const badAnswer = { code: 'provider_error', status: 'retrying' } as const;
const refused = { code: 'misconfigured', status: 'misconfigured' } as const;
const clamped = { code: null, status: 'valid' } as const;

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const word = (random: () => number) => Math.floor(random() * 36 ** 8).toString(36);

function answer(status: number, headers: Record<string, string | number>, body: string | Buffer = ''): Fault {
  return { mode: 'raw', respond: (res) => { res.writeHead(status, headers); res.end(body); } };
}
function json200(body: unknown, random: () => number): Fault {
  return answer(200, { 'content-type': pick(random, ['application/json', 'application/json; charset=utf-8']), 'cache-control': 'no-store' }, JSON.stringify(body));
}
const tokenish = (random: () => number, extra: Record<string, unknown> = {}) => ({ access_token: `at-${word(random)}`, token_type: 'Bearer', expires_in: 3600, ...extra });

// 128 MiB of zeros, gzipped to ≈130 KB, and a 10 MB token answer: made once, so the provider's
// own garbage does not blur what the broker's memory does.
const GZIP_BOMB = gzipSync(Buffer.alloc(128 * 1024 * 1024), { level: 9 });
const TEN_MB = Buffer.concat([Buffer.from('{"access_token":"'), Buffer.alloc(10 * 1024 * 1024, 0x61), Buffer.from('","token_type":"Bearer"}')]);

/** Writes `total` bytes of a JSON-looking body in `chunk`-sized pieces, never declaring a length. */
function streamed(res: ServerResponse, total: number, chunk: number): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  const piece = Buffer.alloc(chunk, 0x20);
  let sent = 0;
  const next = (): void => {
    while (sent < total) {
      sent += chunk;
      if (!res.write(sent === chunk ? Buffer.concat([Buffer.from('{"access_token":"'), piece]) : piece)) {
        res.once('drain', next);
        return;
      }
    }
    res.end('"}');
  };
  res.on('error', () => undefined);
  next();
}

/** One byte a second, forever (until the client gives up). */
function drip(res: ServerResponse, withHeaders: boolean): void {
  res.on('error', () => undefined);
  if (!withHeaders) {
    // The status line and headers themselves trickle in.
    const head = Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{}');
    let i = 0;
    const timer = setInterval(() => { if (i < head.length) res.socket?.write(head.subarray(i, ++i)); }, 1_000);
    res.socket?.on('close', () => clearInterval(timer));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{');
  const timer = setInterval(() => res.write(' '), 1_000);
  res.on('close', () => clearInterval(timer));
}

const KINDS: Kind[] = [
  // A 2xx that is not a token response: nothing stored, retried later (provider_error).
  { name: 'not JSON, 200', outcome: badAnswer, fault: (r) => answer(200, { 'content-type': pick(r, ['text/plain', 'application/json']) }, pick(r, ['OK', 'access_token=abc&token_type=bearer', 'true', `<${word(r)}>`])) },
  { name: 'an HTML page with 200 (captive portal)', outcome: badAnswer, fault: (r) => answer(200, { 'content-type': 'text/html' }, `<!doctype html><html><body><form action="/login"><input name="${word(r)}"></form></body></html>`) },
  { name: 'an empty 200', outcome: badAnswer, fault: (r) => answer(200, pick<Record<string, string | number>>(r, [{ 'content-type': 'application/json' }, { 'content-length': 0 }])) },
  { name: '204 No Content', outcome: badAnswer, fault: () => answer(204, {}) },
  { name: 'truncated JSON', outcome: badAnswer, fault: (r) => { const full = JSON.stringify(tokenish(r)); return answer(200, { 'content-type': 'application/json' }, full.slice(0, 1 + Math.floor(r() * (full.length - 2)))); } },
  { name: 'a JSON array, null, number or string', outcome: badAnswer, fault: (r) => json200(pick(r, [[], [tokenish(r)], null, 42, 'at-token']), r) },
  { name: 'no access_token', outcome: badAnswer, fault: (r) => { const { access_token: _gone, ...rest } = tokenish(r); return json200(rest, r); } },
  { name: 'an empty access_token', outcome: badAnswer, fault: (r) => json200(tokenish(r, { access_token: '' }), r) },
  { name: 'access_token of the wrong type', outcome: badAnswer, fault: (r) => json200(tokenish(r, { access_token: pick(r, [12345, true, { value: 'x' }, ['a'], null]) }), r) },
  { name: 'no token_type', outcome: badAnswer, fault: (r) => { const { token_type: _gone, ...rest } = tokenish(r); return json200(rest, r); } },
  { name: 'token_type of the wrong type', outcome: badAnswer, fault: (r) => json200(tokenish(r, { token_type: pick(r, [1, null, ['Bearer'], {}]) }), r) },
  { name: 'refresh_token of the wrong type', outcome: badAnswer, fault: (r) => json200(tokenish(r, { refresh_token: pick(r, [42, {}, ['rt'], true]) }), r) },
  { name: 'scope of the wrong type', outcome: badAnswer, fault: (r) => json200(tokenish(r, { scope: pick(r, [7, ['openid'], { openid: true }]) }), r) },
  { name: 'an id_token that is not a JWT', outcome: badAnswer, fault: (r) => json200(tokenish(r, { id_token: pick(r, ['not-a-jwt', 'a.b.c', `${word(r)}.${word(r)}.${word(r)}`, '']) }), r) },
  { name: 'an OAuth error with 200', outcome: badAnswer, fault: (r) => json200({ error: pick(r, ['bad_refresh_token', 'invalid_grant', 'server_error']), error_description: word(r) }, r) },
  { name: 'a 10 MB body with its length', outcome: badAnswer, fault: (r) => answer(200, { 'content-type': 'application/json' }, TEN_MB.subarray(0, TEN_MB.length - Math.floor(r() * 1024))) },
  { name: 'a 10 MB body streamed with no length', outcome: badAnswer, fault: (r) => ({ mode: 'raw', respond: (res) => streamed(res, 10 * 1024 * 1024, pick(r, [16_384, 65_536])) }) },
  { name: 'a gzip bomb (128 MiB inflated)', outcome: badAnswer, fault: () => answer(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, GZIP_BOMB) },
  { name: 'a body that says gzip and is not', outcome: transient, fault: (r) => answer(200, { 'content-type': 'application/json', 'content-encoding': pick(r, ['gzip', 'br', 'deflate']) }, JSON.stringify(tokenish(r))) },
  { name: 'a redirect (not followed)', outcome: badAnswer, fault: (r) => answer(pick(r, [301, 302, 303, 307, 308]), { location: pick(r, ['http://127.0.0.1:1/token', 'https://evil.example/steal', '/token']) }) },
  // Status decides: 5xx and 429 are outages whatever they carry; a 4xx without an OAuth error is a proxy.
  { name: '5xx with an HTML page', outcome: transient, fault: (r) => answer(pick(r, [500, 502, 503, 504]), { 'content-type': 'text/html' }, '<html><body>Bad gateway</body></html>') },
  { name: '5xx with an empty body', outcome: transient, fault: (r) => answer(pick(r, [500, 502, 503, 504]), {}) },
  { name: '503 with a WWW-Authenticate challenge', outcome: transient, fault: (r) => answer(503, { 'www-authenticate': pick(r, ['Bearer error="invalid_token"', 'Basic realm="x"', 'Bearer error="invalid_client"']), 'content-type': 'application/json' }, JSON.stringify({ error: 'temporarily_unavailable' })) },
  { name: '5xx with an OAuth error that sounds fatal', outcome: transient, fault: (r) => answer(pick(r, [500, 503]), { 'content-type': 'application/json' }, JSON.stringify({ error: pick(r, ['invalid_grant', 'invalid_client', 'unauthorized_client']) })) },
  { name: '429 with Retry-After', outcome: transient, fault: (r) => answer(429, { 'retry-after': pick(r, ['1', '0', new Date(Date.now() + 1_000).toUTCString(), 'soon']), 'content-type': 'application/json' }, JSON.stringify({ error: 'slow_down' })) },
  { name: 'a 4xx page from a proxy (no OAuth error)', outcome: transient, fault: (r) => answer(pick(r, [400, 403, 404, 405, 408]), { 'content-type': pick(r, ['text/html', 'text/plain']) }, pick(r, ['<h1>Not Found</h1>', 'Forbidden', ''])) },
  { name: 'the connection cut mid-body', outcome: transient, fault: (r) => ({ mode: 'raw', respond: (res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': 500 }); res.write(JSON.stringify(tokenish(r)).slice(0, 20)); setTimeout(() => res.socket?.destroy(), 5); } }) },
  { name: 'the connection cut before any answer', outcome: transient, fault: () => ({ mode: 'raw', respond: (res) => res.socket?.destroy() }) },
  { name: 'not HTTP at all', outcome: transient, fault: (r) => ({ mode: 'raw', respond: (res) => { res.socket?.end(pick(r, ['SSH-2.0-OpenSSH_9.2\r\n', '\u0000\u0001\u0002garbage', 'HTTP/1.1 banana\r\n\r\n'])); } }) },
  { name: 'a body dripping 1 byte/s', outcome: transient, slow: true, fault: () => ({ mode: 'raw', respond: (res) => drip(res, true) }) },
  { name: 'headers dripping 1 byte/s', outcome: transient, slow: true, fault: () => ({ mode: 'raw', respond: (res) => drip(res, false) }) },
  // A client the provider does not accept: its configuration is what needs fixing.
  { name: '401 with WWW-Authenticate', outcome: refused, fault: (r) => answer(401, { 'www-authenticate': pick(r, ['Basic realm="token"', 'Bearer error="invalid_client"', 'Basic realm="x", charset="UTF-8"']) }, pick(r, ['', JSON.stringify({ error: 'invalid_client' })])) },
  // A real answer (tokens issued) with an absurd number in it: clamped, never fatal.
  // Tokens issued and the refresh token rotated, then the answer spoiled: the presented refresh
  // token is spent (this provider revokes the grant on reuse), so the new one must be kept.
  { name: 'a rotated refresh token with no usable access_token or ID token', outcome: badAnswer, keepsIssued: true, fault: (r) => ({ mode: 'rewrite', rewrite: (body) => {
    const { access_token: _gone, ...rest } = body;
    return pick(r, [rest, { ...body, access_token: '' }, { ...body, access_token: 42 }, { ...body, id_token: 'not-a-jwt' }]);
  } }) },
  { name: 'expires_in absurd (huge, zero, negative, a numeric string)', outcome: clamped, fault: (r) => ({ mode: 'rewrite', rewrite: (body) => ({ ...body, expires_in: pick(r, [1e12, 1e308, -60, '3600', 0, 2 ** 53]) }) }) },
  { name: 'expires_in of the wrong type', outcome: clamped, fault: (r) => ({ mode: 'rewrite', rewrite: (body) => ({ ...body, expires_in: pick(r, ['soon', {}, [3600], true, null]) }) }) },
  { name: 'refresh_token_expires_in absurd or of the wrong type', outcome: clamped, fault: (r) => ({ mode: 'rewrite', rewrite: (body) => ({ ...body, refresh_token_expires_in: pick(r, [1e15, -1, 'never', [1]]) }) }) },
];

test(`${TOTAL} malformed token endpoint answers of ${KINDS.length} kinds: each classified as REQUIREMENTS 8 says; no crash, no bad record stored, the previous token still served, memory bounded`, { timeout: 600_000 }, async () => {
  const seed = Number(process.env['TOKENTRAY_MALFORMED_SEED'] ?? Date.now() % 1_000_000);
  const random = seeded(seed);
  const op = await TestProvider.start({ accessTokenTtl: 3600, clientCredentialsTtl: 3600, rotateRefreshTokens: true, reuseGraceMs: 0 });
  cleanup.push(() => op.close());
  const h: Harness = await brokerHarness(op);
  cleanup.push(() => h.close());
  await h.broker.addAccount({ id: 'rotating', name: 'rotating', flow: 'browser', provider: { issuer: op.issuer }, clientId: op.nativeClient.client_id, scopes: ['openid', 'offline_access'] });
  await h.broker.signIn('rotating');
  await h.broker.addAccount({ id: 'service', name: 'service', flow: 'client-credentials', provider: { issuer: op.issuer }, clientId: op.confidentialClient.client_id, scopes: ['api:read'] }, { clientSecret: op.confidentialClient.client_secret });
  await h.broker.signIn('service');
  const accounts = ['rotating', 'service'] as const;

  const slowKinds = KINDS.filter((k) => k.slow).length;
  const slowEach = 2; // one per account: each waits out the 2 s timeout and its one retry
  const each = Math.ceil((TOTAL - slowKinds * slowEach) / (KINDS.length - slowKinds));
  // Memory per kind: the most either process grew while answers of one kind were read (the
  // keychain process's peak is reset before each kind; this process also runs the provider,
  // so its figure is an upper bound). An answer read whole — a 10 MB body, a 128 MiB bomb —
  // would show as tens or hundreds of MB.
  const growth = { broker: { mb: 0, kind: '' }, worker: { mb: 0, kind: '' } };
  let generated = 0;
  const only = process.env['TOKENTRAY_MALFORMED_KINDS'] ? new RegExp(process.env['TOKENTRAY_MALFORMED_KINDS'], 'i') : null; // to repeat some kinds
  for (const kind of KINDS.filter((k) => !only || only.test(k.name))) {
    const count = kind.slow ? slowEach : each;
    const wrong: string[] = [];
    const rssAtStart = process.memoryUsage().rss;
    let peakRss = rssAtStart;
    const workerAtStart = resetWorkerPeak();
    for (let i = 0; i < count; i++) {
      const id = accounts[i % 2]!;
      const before = await h.broker.getToken(id, { minTtlSeconds: 0 });
      const storedBefore = await h.vault.read(id);
      await op.setFault(kind.fault(random));
      generated++;
      let code: string | null = null;
      try {
        await h.broker.refresh(id);
      } catch (error) {
        code = (error as { code?: string }).code ?? `uncoded: ${String(error)}`;
      }
      await op.setFault(null);
      const view = h.broker.view(id);
      if (code !== kind.outcome.code || view.status !== kind.outcome.status) wrong.push(`${id}: ${code} / ${view.status} (${view.lastError?.message ?? ''})`);
      if (kind.outcome.code !== null) {
        // Nothing was stored, and the token of before is still served while it is valid.
        const served = await h.broker.getToken(id, { minTtlSeconds: 0 });
        assert.equal(served.accessToken, before.accessToken, `${kind.name}: the previous token is still served`);
        const stored = await h.vault.read(id);
        assert.equal(stored?.accessToken, storedBefore?.accessToken, `${kind.name}: nothing stored`);
        if (kind.keepsIssued && storedBefore?.refreshToken) assert.equal(stored?.refreshToken, op.issuedRefreshTokens.at(-1), `${kind.name}: the refresh token the provider issued is kept`);
        else assert.equal(stored?.refreshToken, storedBefore?.refreshToken, `${kind.name}: the refresh token kept`);
      } else {
        const stored = await h.vault.read(id);
        assert.notEqual(stored?.accessToken, storedBefore?.accessToken, `${kind.name}: the real answer was stored`);
        const expires = stored?.accessTokenExpiresAt ? Date.parse(stored.accessTokenExpiresAt) : null;
        assert.ok(expires === null || expires <= Date.now() + 366 * 24 * 3600_000, `${kind.name}: expiry clamped (${stored?.accessTokenExpiresAt})`);
      }
      if (view.status === 'misconfigured') await h.broker.reconfigure(id, (a) => a); // the person "fixed" it
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    const brokerMb = Math.round((peakRss - rssAtStart) / 1048576);
    const workerMb = workerAtStart === null ? 0 : (workerPeakRssMb() ?? workerAtStart) - workerAtStart;
    if (brokerMb > growth.broker.mb) growth.broker = { mb: brokerMb, kind: kind.name };
    if (workerMb > growth.worker.mb) growth.worker = { mb: workerMb, kind: kind.name };
    if (process.env['TOKENTRAY_MALFORMED_DEBUG']) console.log(`# ${kind.name}: ${count}; grew the broker by ≤ ${brokerMb} MB, the keychain process by ${workerMb} MB`);
    assert.deepEqual(wrong, [], `${kind.name} (seed ${seed}) should give ${kind.outcome.code ?? 'success'} / ${kind.outcome.status}`);
  }
  console.log(`# seed ${seed}: ${generated} answers of ${KINDS.length} kinds; most memory one kind cost: broker ≤ ${growth.broker.mb} MB (${growth.broker.kind}), keychain process ${growth.worker.mb} MB (${growth.worker.kind}); reused refresh tokens ${op.counters.reusedRefreshTokens}`);
  if (!only) assert.ok(generated >= TOTAL, `${generated} answers generated`);
  assert.ok(growth.broker.mb < 64, `the broker grew by ${growth.broker.mb} MB reading answers of one kind (${growth.broker.kind})`);
  assert.ok(growth.worker.mb < 64, `the keychain process grew by ${growth.worker.mb} MB reading answers of one kind (${growth.worker.kind})`);
  // Afterwards both accounts refresh normally, and no spent refresh token was ever sent again.
  for (const id of accounts) assert.equal((await h.broker.refresh(id)).status, 'valid');
  assert.equal(op.counters.reusedRefreshTokens, 0);
  assert.equal(op.counters.errors['invalid_grant'] ?? 0, 0);
  const stored = await storedRecord(h.service, 'rotating');
  assert.equal(stored?.refreshToken, op.issuedRefreshTokens.at(-1), 'the keychain holds the newest refresh token');
});

/** Resets the keychain process's peak resident memory to what it holds now (Linux clear_refs); resolves with that. */
function resetWorkerPeak(): number | null {
  const pid = keychainWorkerPids(process.pid)[0];
  if (!pid) return null;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // not allowed here: the peak since start is measured instead
  }
  return workerPeakRssMb();
}

/** The keychain process's peak resident memory (VmHWM), in MB. */
function workerPeakRssMb(): number | null {
  const pid = keychainWorkerPids(process.pid)[0];
  if (!pid) return null;
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return hwm ? Math.round(Number(hwm) / 1024) : null;
  } catch {
    return null;
  }
}
