// Sums the JSON reports of the test runs named on the command line (default: the runs `npm test`
// makes) and prints one plain closing line. CI's localstack stage names its own two.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = 'test-reports';
const names = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['unit', 'template', 'main', 'cluster', 'faults'];
let passed = 0;
let failed = 0;
let skipped = 0;
for (const name of names) {
  const file = join(dir, `vitest-${name}.json`);
  if (!existsSync(file)) {
    console.error(`no report ${file}: that run did not happen`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8')) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
  };
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
