// Counts leaf tests. With TOKENTRAY_TEST_SUMMARY set, it writes the counts there as JSON (the
// test script adds up its runs and prints the closing line); otherwise it prints the line.
import { writeFileSync } from 'node:fs';

export default async function* summary(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.data.skip || event.data.todo) skipped++;
    else if (event.type === 'test:pass') passed++;
    else failed++;
  }
  const file = process.env.TOKENTRAY_TEST_SUMMARY;
  if (file) writeFileSync(file, JSON.stringify({ passed, failed, skipped }));
  else yield `\n${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
