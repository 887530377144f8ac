import { defineConfig } from 'vitest/config';

// One throwaway stack (Redis, PostgreSQL, fauxqs, serverless-offline, SQS trigger) for the whole
// run, started by tests/global-setup.ts on free ports under a temp DATA_DIR. Tests isolate
// themselves by creating their own products, customers and queues.
export default defineConfig({
  test: {
    globalSetup: ['tests/global-setup.ts'],
    setupFiles: ['tests/setup-env.ts'],
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
  },
});
