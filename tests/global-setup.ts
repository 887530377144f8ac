// Starts the real local stack once per test run and hands its environment to every test file.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { basePort } from '../infra/local/procs';
import { type Stack, startStack } from '../infra/local/stack';

// `main` and `main-serial` (vitest.config.ts) share one stack: vitest calls this setup once per
// project, in one process but each with a module instance of its own, so the state lives on
// globalThis: the first call starts the stack and the last teardown stops it.
interface Shared {
  starting?: Promise<Stack>;
  stack?: Stack;
  dataDir?: string;
  users: number;
}
const KEY = Symbol.for('flash-sale.test-stack');
const registry = globalThis as Record<symbol, Shared>;
registry[KEY] ??= { users: 0 };
const shared = registry[KEY];

declare module 'vitest' {
  export interface ProvidedContext {
    stackEnv: Record<string, string>;
    baseUrl: string;
    /** the local sandbox: storefront, buyer tokens, test payment provider */
    sandboxUrl: string;
    /** serverless-offline's Lambda invoke endpoint (the AWS Invoke API), for the stack's functions */
    lambdaPort: number;
  }
}

export async function setup(project: TestProject): Promise<void> {
  shared.users++;
  shared.starting ??= start();
  const s = await shared.starting;
  project.provide('stackEnv', { ...s.env, STACK_LOG_DIR: s.logDir, LOG_LEVEL: 'ERROR' });
  project.provide('baseUrl', s.baseUrl);
  project.provide('sandboxUrl', s.sandboxUrl);
  project.provide('lambdaPort', s.lambdaPort);
}

async function start(): Promise<Stack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flash-sale-test-'));
  shared.dataDir = dataDir;
  chmodSync(dataDir, 0o755); // PostgreSQL runs as the postgres user and must reach its folder
  const port = await basePort();
  const t0 = Date.now();
  const stack = await startStack({
    port,
    dataDir,
    serve: true,
    seed: false,
    // `npm run test:cluster`: the same suite against a local three-master Redis Cluster.
    redisCluster: process.env['LOCAL_REDIS_CLUSTER'] === '1',
    // Tests send a few orders and wait for them in PostgreSQL: with serverless.yml's 1 s window each
    // such wait included the window. Batching itself is tested with its own windows
    // (tests/integration/sqs-trigger-queue.test.ts, tests/unit/sqs-trigger.test.ts); the fault
    // stacks and `npm start` keep serverless.yml's.
    maximum_batching_window_s: 0,
    // Rate limits off for the shared stack (tests fire bursts from one customer on purpose);
    // tests/integration/rate-limit.test.ts turns them on for its own handler instance.
    // Failed webhook verifications likewise: every test sends from 127.0.0.1 and the flood test sends
    // thousands; tests/integration/webhook-door.test.ts turns the limit on for its own handler.
    env: {
      REDIS_KEY_PREFIX: 'fst',
      LOG_LEVEL: 'WARN',
      RATE_LIMIT_CUSTOMER_RPS: '0',
      RATE_LIMIT_IP_RPS: '0',
      WEBHOOK_FAILED_PER_MIN: '0',
    },
    say: (m) => process.stderr.write(`[test-stack] ${m}\n`),
  });
  process.stderr.write(`[test-stack] up in ${Date.now() - t0} ms\n`);
  shared.stack = stack;
  return stack;
}

export async function teardown(): Promise<void> {
  if (--shared.users > 0) return; // another project still runs on the stack
  const { stack, dataDir } = shared;
  // After everything the suite did (storms, payments, races, cancels, expiry), every product must
  // still satisfy stock_total = available + reserved + paid: the audit command says so or fails.
  const audit = stack ? await auditAll(stack) : null;
  if (stack) printServerErrors(stack.logDir);
  await stack?.stop();
  if (dataDir && !process.env['KEEP_TEST_DATA']) rmSync(dataDir, { recursive: true, force: true });
  if (audit && !audit.ok) throw new Error(`final audit found drift: ${audit.summary}`);
}

async function auditAll(s: Stack): Promise<{ ok: boolean; summary: string }> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bin/cli.ts', 'release'], {
    env: { ...process.env, ...s.env, LOG_LEVEL: 'ERROR' },
    encoding: 'utf8',
  });
  const a = spawnSync(process.execPath, ['--import', 'tsx', 'bin/cli.ts', 'audit', '--json'], {
    env: { ...process.env, ...s.env, LOG_LEVEL: 'ERROR' },
    encoding: 'utf8',
  });
  // Not ok: a product not ok, a product with no sale state in Redis (lost, not rebuilt by the
  // release run just before), or the audit itself failing (its stderr). A run once failed here with
  // "drift: []", saying none of it.
  let report: { products?: { ok: boolean }[]; products_missing?: number[] } = {};
  try {
    report = JSON.parse(a.stdout || '{}');
  } catch {} // the audit failed before printing: its stderr says why
  const summary = {
    products_not_ok: (report.products ?? []).filter((p) => !p.ok),
    products_missing: report.products_missing ?? [],
    audit_stderr: a.stderr.slice(-1500),
    release_run_stderr: r.status === 0 ? '' : r.stderr.slice(-1500),
  };
  process.stderr.write(
    `[test-stack] final audit: ${a.status === 0 ? 'ok' : 'DRIFT'} (release run exit ${r.status})\n`,
  );
  return { ok: a.status === 0, summary: JSON.stringify(summary).slice(0, 4000) };
}

/**
 * The server's 500s and 503s, from its own log: a CI run that fails on one shows why (the data folder
 * with the whole log is removed unless KEEP_TEST_DATA is set). Some tests cause 503s on purpose
 * (a dependency taken away); an unexpected one shows up here with its cause and path.
 */
function printServerErrors(logDir: string): void {
  const lines = readdirSync(logDir)
    .filter((f) => f.startsWith('offline-'))
    .flatMap((f) => readFileSync(join(logDir, f), 'utf8').split('\n'));
  for (const [message, what] of [
    ['unhandled error', 'unhandled server error(s) (500)'],
    ['dependency unavailable', 'dependency error(s) answered 503'],
  ] as const) {
    const found = lines.filter((l) => l.includes(`"message":"${message}"`));
    if (found.length === 0) continue;
    process.stderr.write(`[test-stack] ${found.length} ${what}; the last ones:\n`);
    for (const l of found.slice(-5)) process.stderr.write(`[test-stack]   ${l.slice(0, 1000)}\n`);
  }
}
