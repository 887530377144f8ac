// Starts the real local stack once per test run and hands its environment to every test file.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort, portFree } from '../infra/local/procs';
import { type Stack, startStack } from '../infra/local/stack';

let stack: Stack | undefined;
let dataDir: string | undefined;

declare module 'vitest' {
  export interface ProvidedContext {
    stackEnv: Record<string, string>;
    baseUrl: string;
    /** the local sandbox: storefront, buyer tokens, test payment provider */
    sandboxUrl: string;
  }
}

export async function setup(project: TestProject): Promise<void> {
  dataDir = mkdtempSync(join(tmpdir(), 'flash-sale-test-'));
  chmodSync(dataDir, 0o755); // PostgreSQL runs as the postgres user and must reach its folder
  const port = await basePort();
  const t0 = Date.now();
  stack = await startStack({
    port,
    dataDir,
    serve: true,
    seed: false,
    // `npm run test:cluster`: the same suite against a local three-master Redis Cluster.
    redisCluster: process.env['LOCAL_REDIS_CLUSTER'] === '1',
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
  project.provide('stackEnv', { ...stack.env, STACK_LOG_DIR: stack.logDir, LOG_LEVEL: 'ERROR' });
  project.provide('baseUrl', stack.baseUrl);
  project.provide('sandboxUrl', stack.sandboxUrl);
}

export async function teardown(): Promise<void> {
  // After everything the suite did (storms, payments, races, cancels, expiry), every product must
  // still satisfy stock_total = available + reserved + paid: the audit command says so or fails.
  const audit = stack ? await auditAll(stack) : null;
  if (stack) printUnhandled(stack.logDir);
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
  const bad =
    a.status === 0
      ? []
      : (JSON.parse(a.stdout || '{"products":[]}').products ?? []).filter((p: { ok: boolean }) => !p.ok);
  process.stderr.write(
    `[test-stack] final audit: ${a.status === 0 ? 'ok' : 'DRIFT'} (release run exit ${r.status})\n`,
  );
  return { ok: a.status === 0, summary: JSON.stringify(bad).slice(0, 2000) || a.stderr };
}

/**
 * The server's 500s, from its own log: a CI run that fails on one shows why (the data folder with
 * the whole log is removed unless KEEP_TEST_DATA is set).
 */
function printUnhandled(logDir: string): void {
  const lines = readdirSync(logDir)
    .filter((f) => f.startsWith('offline-'))
    .flatMap((f) => readFileSync(join(logDir, f), 'utf8').split('\n'))
    .filter((l) => l.includes('"message":"unhandled error"'));
  if (lines.length === 0) return;
  process.stderr.write(`[test-stack] ${lines.length} unhandled server error(s); the last ones:\n`);
  for (const l of lines.slice(-10)) process.stderr.write(`[test-stack]   ${l.slice(0, 1500)}\n`);
}

/** A port whose neighbours (+1..+12, used by the stack) are free too. */
async function basePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 20_000 + Math.floor(Math.random() * 30_000);
    const all = await Promise.all([0, 1, 2, 3, 10, 11, 12].map((d) => portFree(p + d)));
    if (all.every(Boolean)) return p;
  }
  return freePort();
}
