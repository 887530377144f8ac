import { defineConfig } from 'vitest/config';

// Four projects, run by `npm test` (infra/local/run-tests.ts) in stages: unit, template, main, then
// main again on a Redis Cluster beside faults (each on a stack of its own):
//  - unit: pure logic (the domain on in-memory ports, parsers, plans, the load tooling's arithmetic):
//    no service started, no stack environment, seconds; `npm run test:unit`;
//  - main (+ main-serial, its load-style files one at a time afterwards): one throwaway stack (Redis, PostgreSQL, fauxqs, serverless-offline, SQS trigger) for
//    the whole run, started by tests/global-setup.ts on free ports under a temp DATA_DIR; tests
//    isolate themselves by creating their own products, customers and queues;
//  - template: the AWS templates, packaged offline and checked (no services needed);
//  - faults: tests that kill and restart real processes get a stack of their own, one file at a
//    time, so they never break another test's stack.
/** Tests that put a burst on the stack: `main-serial` runs them alone (vitest run --project 'main*'). */
const LOAD_TESTS = [
  'tests/e2e/storm.test.ts',
  'tests/e2e/webhook-flood.test.ts',
  'tests/e2e/concurrent-orders.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    // A JSON report per run as well, so CI can print one plain "N passed, N failed" line at the end.
    reporters: ['default', 'json'],
    outputFile: { json: `test-reports/vitest-${process.env['VITEST_REPORT'] ?? 'run'}.json` },
    hookTimeout: 180_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'main',
          // tests/localstack needs the stack on LocalStack (LOCAL_SQS=localstack, CI's localstack stage)
          include: [
            'tests/{integration,e2e}/**/*.test.ts',
            ...(process.env['LOCAL_SQS'] === 'localstack' ? ['tests/localstack/**/*.test.ts'] : []),
          ],
          exclude: LOAD_TESTS,
          globalSetup: ['tests/global-setup.ts'],
          setupFiles: ['tests/setup-env.ts'],
          // three files at a time on two cores: the suite is not CPU-bound at two (62 % busy, its
          // time in waits: the schedule, drains, the browser), and three took 145 s where two took 173
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          // The load-style tests, on the same stack (tests/global-setup.ts shares it), one file at a
          // time after every `main` file: each fills both cores for seconds, and beside other files it
          // starved them (a createOrder out of its 6 s answered 503 to an unrelated lifecycle test)
          // and was starved itself (the storm past 60 s on LocalStack).
          name: 'main-serial',
          include: LOAD_TESTS,
          globalSetup: ['tests/global-setup.ts'],
          setupFiles: ['tests/setup-env.ts'],
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          // The deployable stack: `sls package` (offline) for dev, prod and shared, cfn-lint on
          // each template, assertions on the generated CloudFormation (infra/aws/package.ts): the
          // rules, the alarms and dashboard, what LocalStack gets, the runbook's commands.
          name: 'template',
          include: ['tests/template/**/*.test.ts'],
          globalSetup: ['tests/template/global-setup.ts'],
          hookTimeout: 900_000,
          maxWorkers: 1,
        },
      },
      {
        extends: true,
        test: {
          // one file, every group of faults (infra/chaos/faults.ts FAULT_GROUPS) on one stack, one
          // after the other: two fault stacks side by side beside the cluster run starved the loads
          // (one run of five: 48 accepted where more than 50 are required)
          name: 'faults',
          include: ['tests/faults/**/*.test.ts'],
          fileParallelism: false,
          maxWorkers: 1,
        },
      },
    ],
  },
});
