// When the broker gives memory back: once per quiet period after work, never while busy, never
// when nothing grew — and the collector it uses really frees a burst's garbage.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapStatistics } from 'node:v8';
import { compactingCollector, MemoryTrim } from '../../main/core/daemon/memory-trim.ts';

const MB = 2 ** 20;

describe('memory trim', () => {
  test('once, after quietMs without a touch; not while touched; not again until the process grows', async () => {
    let rss = 200 * MB;
    const trims: number[] = [];
    const trim = new MemoryTrim({ quietMs: 150, minGrowthBytes: 16 * MB, rss: () => rss, collect: () => { trims.push(performance.now()); rss = 100 * MB; } });
    // Busy for 600 ms: a touch every 10 ms.
    const busyUntil = performance.now() + 600;
    while (performance.now() < busyUntil) {
      trim.touch();
      await sleep(10);
    }
    assert.equal(trims.length, 0, 'never while busy');
    const quietFrom = performance.now();
    await sleep(700);
    assert.equal(trims.length, 1, 'once the quiet began');
    const after = trims[0]! - quietFrom;
    assert.ok(after >= 0 && after <= 550, `trimmed ${after.toFixed(0)} ms into the quiet (quietMs 150: at most twice that, plus timer slack)`);
    trim.touch();
    rss = 110 * MB; // grew by less than minGrowthBytes
    await sleep(500);
    assert.equal(trims.length, 1, 'nothing grew enough: no second collection');
    trim.touch();
    rss = 130 * MB;
    await sleep(500);
    assert.equal(trims.length, 2, 'grew by 30 MB since the last trim: trimmed again');
    await sleep(500);
    assert.equal(trims.length, 2, 'no timer and no trim while idle');
    trim.stop();
    trim.touch();
    rss = 500 * MB;
    await sleep(500);
    assert.equal(trims.length, 2, 'stopped: never again');
  });

  test('afterBurst collects at once when the process grew, and counts as the last trim', () => {
    let rss = 150 * MB;
    let trims = 0;
    const trim = new MemoryTrim({ quietMs: 60_000, rss: () => rss, collect: () => { trims++; rss = 90 * MB; } });
    trim.afterBurst();
    assert.equal(trims, 1);
    rss = 100 * MB;
    trim.afterBurst();
    assert.equal(trims, 1, 'grew by 10 MB since: nothing to give back');
    trim.stop();
  });

  test('the compacting collector frees the garbage of a burst', () => {
    const collect = compactingCollector();
    assert.ok(collect, 'available on this runtime');
    assert.equal((globalThis as { gc?: unknown }).gc, undefined, 'no gc() in the global scope');
    let keep: Array<{ i: number; s: string }> = [];
    for (let i = 0; i < 300_000; i++) {
      keep.push({ i, s: `x${i}` });
      if (keep.length > 20_000) keep = [];
    }
    const before = getHeapStatistics().used_heap_size;
    collect();
    const after = getHeapStatistics().used_heap_size;
    assert.ok(after < before, `used heap ${Math.round(before / MB)} -> ${Math.round(after / MB)} MB`);
    assert.ok(keep.length <= 20_001);
  });
});
