// Runs each group of test files with Node's test runner, one group after the other, then
// prints the closing line over all of them: "N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const runs = JSON.parse(process.argv[2] ?? '[]') as string[][];
const dir = process.env['TOKENTRAY_TEST_SUMMARY_DIR']!;
const total = { passed: 0, failed: 0, skipped: 0 };
let status = 0;
runs.forEach((patterns, index) => {
  const file = join(dir, `run-${index}.json`);
  const run = spawnSync(process.execPath, [
    '--test',
    `--test-concurrency=${index < 2 ? 2 : 1}`,
    '--test-timeout=240000',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=./test/summary-reporter.mjs', '--test-reporter-destination=stdout',
    ...patterns,
  ], { stdio: 'inherit', env: { ...process.env, TOKENTRAY_TEST_SUMMARY: file } });
  if (run.status !== 0) status = run.status ?? 1;
  try {
    const counts = JSON.parse(readFileSync(file, 'utf8')) as typeof total;
    total.passed += counts.passed;
    total.failed += counts.failed;
    total.skipped += counts.skipped;
  } catch {
    total.failed++;
    status ||= 1;
    console.error(`test run ${index + 1} produced no summary`);
  }
});
console.log(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(status || (total.failed > 0 ? 1 : 0));
