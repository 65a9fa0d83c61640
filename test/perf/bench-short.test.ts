// The short form of `npm run bench` that CI runs: the counts (one refresh for a fan-in, no
// provider request while idle, none failed, the per-provider limit) and generous ceilings —
// not the timing goals, which this machine's noise would make flaky (those are in
// docs/BENCHMARKS.md, from `npm run bench`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { measureHotPath } from '../../bench/hot-path.ts';
import { measureScale } from '../../bench/scale.ts';

test('hot path, short: the token route answers every request, within a generous ceiling of a bare server', async () => {
  const results = await measureHotPath({ seconds: 2, rounds: 1, connections: 20 });
  for (const r of results) {
    console.log(`# hot path ${r.transport}: ${Math.round(r.rps.median)} vs bare ${Math.round(r.bareRps.median)} req/s (${r.ratio.median.toFixed(2)} ×), p99 ${r.p99.median} vs ${r.bareP99.median} ms`);
    assert.equal(r.errors, 0, `${r.transport}: every request answered 200`);
    assert.ok(r.ratio.median >= 0.2, `${r.transport}: ${r.ratio.median.toFixed(2)} × a bare server`);
  }
  assert.deepEqual(results.map((r) => r.transport).sort(), ['tcp', 'unix']);
});

test('scale, short (60 accounts): no provider request while idle, all refresh at once within the limit, a fan-in is one refresh', async () => {
  const r = await measureScale({ accounts: 60, idleSeconds: 5, loadSeconds: 1 });
  console.log(`# scale 60: start ${(r.startMs / 1000).toFixed(2)} s (empty ${(r.emptyStartMs / 1000).toFixed(2)} s), idle CPU ${r.idleCpuPercent.toFixed(2)} %, RSS ${r.rssMb.toFixed(0)} MB, list p99 ${r.listP99Ms} ms, refresh all ${(r.refreshAllMs / 1000).toFixed(1)} s (peak ${r.providerPeakInFlight} at once), fan-in ${r.fanInRequests} request in ${(r.fanInMs / 1000).toFixed(2)} s`);
  assert.equal(r.idleProviderRequests, 0, 'no provider request while idle');
  assert.ok(r.idleCpuPercent <= 5, `idle CPU ${r.idleCpuPercent} %`);
  assert.equal(r.refreshFailures, 0);
  assert.ok(r.providerPeakInFlight >= 1 && r.providerPeakInFlight <= 8, `${r.providerPeakInFlight} token requests at once at the provider`);
  assert.equal(r.fanInRequests, 1, '1,000 concurrent refresh requests on one account: one provider request');
  assert.equal(r.fanInFailures, 0);
  assert.ok(r.startMs < 10_000, `start → ready ${r.startMs} ms`);
  assert.equal(r.validExpired.validExpired, 0, `listed valid with an expired token: ${r.validExpired.examples.join('; ')}`);
  assert.ok(r.validExpired.samples > 0, 'the account list was sampled');
});

test('scale, short, memory-only mode (30 accounts, no keychain): the same counts, and a restart lists every account', async () => {
  const r = await measureScale({ accounts: 30, idleSeconds: 3, loadSeconds: 1, keyring: 'none' });
  console.log(`# scale 30, memory-only: restart ${(r.startMs / 1000).toFixed(2)} s, idle CPU ${r.idleCpuPercent.toFixed(2)} % (after the restart ${r.restartIdleCpuPercent?.toFixed(2)} %), RSS ${r.rssMb.toFixed(0)} MB, refresh all ${(r.refreshAllMs / 1000).toFixed(1)} s`);
  assert.equal(r.idleProviderRequests, 0, 'no provider request while idle (no keychain write retried in a loop either)');
  assert.ok(r.idleCpuPercent <= 5, `idle CPU ${r.idleCpuPercent} %`);
  assert.ok(r.restartIdleCpuPercent !== null && r.restartIdleCpuPercent <= 5, `idle CPU after the restart ${r.restartIdleCpuPercent} %`);
  // Every token lived in memory only: after the restart no account says valid, and a token
  // request is told to wait for the keychain (503), never a 500.
  assert.equal(r.restart?.valid, 0, r.restart?.statuses);
  assert.deepEqual([r.restart?.tokenStatus, r.restart?.tokenCode], [503, 'keychain_unavailable']);
  assert.equal(r.validExpired.validExpired, 0);
  assert.equal(r.refreshFailures, 0);
  assert.equal(r.fanInRequests, 1);
  assert.equal(r.fanInFailures, 0);
});
