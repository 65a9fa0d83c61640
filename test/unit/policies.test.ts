import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AuditLog } from '../../main/core/audit/audit-log.ts';
import { rateLimiter } from '../../main/core/endpoint/rate-limiter.ts';
import { requestUrl } from '../../main/core/endpoint/guards.ts';
import { parseRetryAfter } from '../../main/core/oauth/provider-error.ts';
import { assertSafeUrl } from '../../main/core/oauth/url-policy.ts';
import { socketPathFor } from '../../main/core/daemon/broker-runtime.ts';
import { watchForSleep } from '../../main/core/refresh/sleep-watch.ts';
import { backoffDelayMs, DEFAULT_BACKOFF, effectiveMinTtlMs, keychainBackoff, nextRefreshAt, refreshJitterMs, refreshWindowMs } from '../../main/core/refresh/refresh-policy.ts';
import { parseArgs, UsageError } from '../../main/cli/args.ts';
import { slugify } from '../../shared/account-id.ts';

const at = (s: number) => new Date(Date.UTC(2030, 0, 1) + s * 1000);

describe('refresh policy', () => {
  test('refresh window: max(60 s, 20 % of the lifetime), never more than half of it', () => {
    assert.equal(refreshWindowMs(3_600_000), 720_000);
    assert.equal(refreshWindowMs(120_000), 60_000);
    assert.equal(refreshWindowMs(3_000), 1_500);
  });

  test('min_ttl is capped at half the lifetime', () => {
    assert.equal(effectiveMinTtlMs(30_000, 3_000), 1_500);
    assert.equal(effectiveMinTtlMs(30_000, 3_600_000), 30_000);
    assert.equal(effectiveMinTtlMs(30_000, null), 30_000);
  });

  test('next refresh: ahead of expiry with jitter earlier, never later; keep-alive at 10 % of the refresh token left', () => {
    const times = { accessTokenIssuedAt: at(0), accessTokenExpiresAt: at(3600), refreshTokenIssuedAt: at(0), refreshTokenExpiresAt: at(20) };
    assert.deepEqual(nextRefreshAt(times, at(0), true, true, () => 0), at(18), 'the refresh token (20 s) is renewed at 18 s');
    const noKeepAlive = { ...times, refreshTokenExpiresAt: null };
    assert.deepEqual(nextRefreshAt(noKeepAlive, at(0), true, true, () => 0), at(3600 - 720));
    assert.deepEqual(nextRefreshAt(noKeepAlive, at(0), true, true, () => 1), at(3600 - 720 - 72), 'jitter makes it earlier');
    assert.equal(nextRefreshAt(times, at(0), false, false), null, 'nothing to do without a way to renew');
    assert.deepEqual(nextRefreshAt(noKeepAlive, at(4000), true, true, () => 0), at(4000), 'overdue means now');
  });

  test('refreshes that fall due together are spread: 1,000 tokens issued in the same second, no second holds more than 5 % of their refreshes', () => {
    let state = 42;
    const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const lifetimeS of [300, 600, 3600, 86_400]) {
      const perSecond = new Map<number, number>();
      for (let i = 0; i < 1_000; i++) {
        const times = { accessTokenIssuedAt: at(0), accessTokenExpiresAt: at(lifetimeS), refreshTokenExpiresAt: null, refreshTokenIssuedAt: null };
        const second = Math.floor(nextRefreshAt(times, at(0), true, true, random)!.getTime() / 1000);
        perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
      }
      const busiest = Math.max(...perSecond.values());
      assert.ok(busiest <= 50, `${lifetimeS} s tokens: ${busiest} of 1,000 refreshes in one second`);
    }
    assert.equal(refreshJitterMs(refreshWindowMs(30_000)), 7_500, 'a 30 s token: at most half its 15 s window');
    assert.equal(refreshJitterMs(refreshWindowMs(3_600_000)), 72_000, 'an hour: 10 % of its 12 min window');
  });

  test('backoff: full jitter under 2 s · 2^n, capped at 5 min, never shorter than Retry-After', () => {
    const policy = { baseMs: 2_000, capMs: 300_000 };
    assert.equal(backoffDelayMs(0, policy, null, () => 0.999), 1_998);
    assert.equal(backoffDelayMs(3, policy, null, () => 0.5), 8_000);
    assert.equal(backoffDelayMs(20, policy, null, () => 0.999), 299_700);
    assert.equal(backoffDelayMs(0, policy, 30_000, () => 0), 30_000);
    assert.equal(backoffDelayMs(0, policy, 10 * 3_600_000, () => 0), 3_600_000, 'Retry-After is honoured up to an hour');
    assert.equal(parseRetryAfter('7'), 7_000);
    assert.equal(parseRetryAfter(new Date(Date.now() + 60_000).toUTCString())! > 55_000, true);
    assert.equal(parseRetryAfter('soon'), null);
  });

  test('a failed keychain write is retried within 4 s however many times it failed, and never slower than the provider policy', () => {
    const keychain = keychainBackoff(DEFAULT_BACKOFF);
    assert.equal(backoffDelayMs(50, keychain, null, () => 0.999), 3_996);
    assert.equal(backoffDelayMs(0, keychain, null, () => 0.999), 499);
    assert.deepEqual(keychainBackoff({ baseMs: 100, capMs: 1_000 }), { baseMs: 100, capMs: 1_000 });
  });
});

describe('input policies', () => {
  test('https everywhere; plain http only on loopback', () => {
    for (const ok of ['https://login.example.com', 'http://127.0.0.1:8080/x', 'http://[::1]:9/x', 'http://localhost/x']) assert.ok(assertSafeUrl(ok, 'u'));
    for (const bad of ['http://login.example.com', 'http://127.0.0.1.nip.io', 'ftp://x', 'javascript:alert(1)', 'not a url', 'http://localhost.evil.example']) {
      assert.throws(() => assertSafeUrl(bad, 'u'), { code: 'insecure_url' }, bad);
    }
  });

  test('ids are made from names as slugs', () => {
    assert.equal(slugify('Work SSO'), 'work-sso');
    assert.equal(slugify('  Ünïcödé — GitHub!'), 'unicode-github');
    assert.equal(slugify('---'), '');
  });

  test('the CLI argument parser is strict', () => {
    const args = parseArgs(['acct', '--scope', 'a', '--scope=b', '--json', '--', 'cmd', '--x'], { values: ['scope'], booleans: ['json'] });
    assert.deepEqual(args.positionals, ['acct']);
    assert.deepEqual(args.flags.get('scope'), ['a', 'b']);
    assert.deepEqual(args.rest, ['cmd', '--x']);
    assert.throws(() => parseArgs(['--nope'], { values: [], booleans: [] }), UsageError);
    assert.throws(() => parseArgs(['--scope'], { values: ['scope'], booleans: [] }), UsageError);
    assert.throws(() => parseArgs(['--json=1'], { values: [], booleans: ['json'] }), UsageError);
  });

  test('the broker socket: in the home when short enough, else a private temp folder; a named pipe on Windows', () => {
    assert.equal(socketPathFor('/home/me/.config/tokentray', 'linux'), '/home/me/.config/tokentray/run/broker.sock');
    const long = socketPathFor(`/home/me/${'deep/'.repeat(30)}tokentray`, 'linux');
    assert.ok(Buffer.byteLength(long) <= 100 && /\/tokentray-[^/]+-[0-9a-f]{12}\/broker\.sock$/.test(long), long);
    assert.match(socketPathFor('C:\\Users\\me\\AppData\\Roaming\\tokentray', 'win32'), /^\\\\\.\\pipe\\tokentray-[0-9a-f]{16}$/);
  });

  test('key requests are rate-limited in a sliding window', () => {
    let now = 0;
    const limit = rateLimiter(3, 1000, 'slow down', () => now);
    limit();
    limit();
    limit();
    now = 400;
    assert.throws(limit, { code: 'rate_limited', retryAfterMs: 600 }, 'refused until the oldest call leaves the window');
    now = 1001;
    limit();
  });
});

describe('sleep watch', () => {
  test('a timer that fires more than 30 s late means the machine slept: resume', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    let wakes = 0;
    const stop = watchForSleep(() => wakes++);
    t.mock.timers.tick(5_000);
    t.mock.timers.tick(5_000);
    assert.equal(wakes, 0, 'on time: nothing to do');
    t.mock.timers.setTime(Date.now() + 60_000); // the process was frozen for a minute
    t.mock.timers.tick(5_000);
    assert.equal(wakes, 1);
    t.mock.timers.tick(5_000);
    assert.equal(wakes, 1, 'once per sleep');
    stop();
  });
});

describe('audit log', () => {
  test('bounded: past the maximum the oldest half goes; newest first; torn lines skipped', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tt-audit-'));
    const audit = new AuditLog({ home, maxEntries: 10 });
    for (let i = 0; i < 25; i++) await audit.record({ at: new Date(i * 1000).toISOString(), account: `a${i}`, client: 'owner', route: 'token' });
    const linesOf = async (name: string) => (await readFile(join(home, name), 'utf8').catch(() => '')).split('\n').filter((l) => l.trim());
    const lines = await linesOf('audit.jsonl');
    const older = await linesOf('audit.jsonl.1');
    assert.ok(lines.length + older.length <= 10, `${lines.length} + ${older.length} lines kept`);
    assert.deepEqual((await audit.recent(100)).map((e) => e.account).slice(-1), [`a${25 - lines.length - older.length}`], 'the newest ones, in order');
    // Many at once (a burst of tool requests): fewer writes than entries, every one recorded.
    const burst = new AuditLog({ home: await mkdtemp(join(tmpdir(), 'tt-audit-')), maxEntries: 1000 });
    const heard: string[] = [];
    burst.onRecord((e) => heard.push(e.account));
    await Promise.all(Array.from({ length: 200 }, (_, i) => burst.record({ at: new Date(i).toISOString(), account: `b${i}`, client: 'owner', route: 'token' })));
    assert.equal(heard.length, 200);
    assert.deepEqual((await burst.recent(3)).map((e) => e.account), ['b199', 'b198', 'b197']);
    await burst.close();
    const { appendFile } = await import('node:fs/promises');
    await appendFile(join(home, 'audit.jsonl'), '{"at":"2030-01-01T00:00:00.000Z","acc'); // a crash mid-line
    const recent = await audit.recent(3);
    assert.deepEqual(recent.map((e) => e.account), ['a24', 'a23', 'a22']);
    const reopened = new AuditLog({ home, maxEntries: 10 });
    await reopened.record({ at: new Date().toISOString(), account: 'after-crash', client: 'owner', route: 'token' });
    assert.equal((await reopened.recent(1))[0]!.account, 'after-crash', 'the torn line does not swallow the next entry');
  });

  test('each line is exactly the JSON of its entry, whether built directly (plain ids) or escaped; note() writes like record()', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tt-audit-'));
    const audit = new AuditLog({ home });
    const entries = [
      { at: '2030-01-01T00:00:00.000Z', account: 'work.git-1', client: 'c_abcdefghijkl', route: 'token' },
      { at: '2030-01-01T00:00:00.000Z', account: 'quote"back\\slash', client: 'new\nline', route: 'täst' },
    ];
    const failures: unknown[] = [];
    audit.note(entries[0]!, (error) => failures.push(error));
    await audit.record(entries[1]!);
    await audit.close();
    const lines = (await readFile(join(home, 'audit.jsonl'), 'utf8')).split('\n').filter(Boolean);
    assert.deepEqual(lines, entries.map((e) => JSON.stringify(e)));
    assert.deepEqual(failures, []);
  });

  test('under a steady stream of requests, writes start at most every 10 ms and carry every entry', async () => {
    const audit = new AuditLog({ home: await mkdtemp(join(tmpdir(), 'tt-audit-')), maxEntries: 1_000_000 });
    // Entries of one write are heard in one synchronous loop: count those loops.
    let writes = 0;
    let heard = 0;
    let inWrite = false;
    audit.onRecord(() => {
      heard++;
      if (inWrite) return;
      writes++;
      inWrite = true;
      queueMicrotask(() => (inWrite = false));
    });
    const end = performance.now() + 200;
    let turns = 0;
    let sent = 0;
    while (performance.now() < end) {
      for (let i = 0; i < 5; i++, sent++) audit.note({ at: '2030-01-01T00:00:00.000Z', account: `s${sent}`, client: 'owner', route: 'token' }, (error) => assert.fail(String(error)));
      turns++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await audit.close();
    assert.equal(heard, sent, 'every entry written');
    assert.ok(turns > 100, `${turns} turns`);
    assert.ok(writes <= 200 / 10 + 3, `${writes} writes for ${sent} entries in ${turns} turns`);
  });
});

describe('request URLs', () => {
  test('a plain path is taken as it is; dots, escapes, empty segments and queries are normalised by URL as before', () => {
    const plain = requestUrl('/v1/accounts/work.git-1/token');
    assert.equal(plain.pathname, '/v1/accounts/work.git-1/token');
    assert.equal([...plain.searchParams].length, 0);
    for (const raw of ['/v1/accounts/../accounts/x/token', '/v1/./accounts', '/v1/accounts/%61/token', '//v1', '/v1/accounts/x/token?min_ttl=5', '/', '/v1/accounts/x/token#frag', undefined]) {
      const expected = new URL(raw ?? '/', 'http://127.0.0.1');
      const got = requestUrl(raw);
      assert.equal(got.pathname, expected.pathname, String(raw));
      assert.equal(got.searchParams.toString(), expected.searchParams.toString(), String(raw));
    }
  });
});
