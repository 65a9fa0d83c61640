import assert from 'node:assert/strict';
import { test } from 'node:test';
import { measureTokenLatency } from '../../bench/token-latency.ts';

// The hot path stays light: no broker code, no schema library, no node:http. The target is a
// median of 1.5 × `node -e 0`; npm test runs this file alone, after the rest, so the machine is
// quiet, and allows 1.6 for noise. (A heavy import sneaking in shows as 2.6 ×: it was, once.)
test('tokentray token starts fast: median wall time near 1.5 × node -e 0', async () => {
  const { baselineMs, tokenMs, ratio } = await measureTokenLatency(30);
  console.log(`# tokentray token median ${tokenMs.toFixed(1)} ms vs node -e 0 median ${baselineMs.toFixed(1)} ms: ratio ${ratio.toFixed(2)}`);
  assert.ok(ratio <= 1.6, `ratio ${ratio.toFixed(2)}`);
});
