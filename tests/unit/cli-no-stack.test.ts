// `npm run cli -- <command>` with the local stack not running: each command that needs a service
// says in one line which one it could not reach (or which setting is missing) and how to get it:
// `npm start` or the settings. Before, a stopped stack gave a bare `connect ECONNREFUSED`,
// ioredis's "max retries per request" or "fetch failed". No stack is started: the stack file names
// ports nothing listens on.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/local/procs';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const ORDER = '6f1c2d3e-0000-4000-8000-000000000000';

let stopped: string; // a stopped stack's DATA_DIR: its stack-env.json is left, nothing listens
const empty = mkdtempSync(join(tmpdir(), 'flash-sale-cli-empty-')); // never held a stack
let apiPort: number;

beforeAll(async () => {
  stopped = mkdtempSync(join(tmpdir(), 'flash-sale-cli-stopped-'));
  const [redis, pg, sqs] = [await freePort(), await freePort(), await freePort()];
  apiPort = await freePort();
  const env = {
    REDIS_URL: `redis://127.0.0.1:${redis}`,
    DATABASE_URL: `postgres://postgres@127.0.0.1:${pg}/flashsale`,
    SQS_ENDPOINT: `http://127.0.0.1:${sqs}`,
    ORDERS_QUEUE_URL: `http://127.0.0.1:${sqs}/000000000000/orders`,
    ORDERS_DLQ_URL: `http://127.0.0.1:${sqs}/000000000000/orders-dlq`,
    AUTH_JWT_SECRET: 'a-development-secret-of-at-least-32-bytes',
    WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    PORT: String(apiPort),
    DATA_DIR: stopped,
  };
  writeFileSync(join(stopped, 'stack-env.json'), JSON.stringify(env));
});

afterAll(() => {
  for (const d of [stopped, empty]) rmSync(d, { recursive: true, force: true });
});

/** The CLI with only a user's shell variables (no stack settings), on `dataDir`. */
async function cli(dataDir: string, args: string[]) {
  const env = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    DATA_DIR: dataDir,
    PORT: String(apiPort),
  };
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'bin/cli.ts', ...args], {
      cwd: ROOT,
      env,
      timeout: 30_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const COMMANDS: [string[], RegExp][] = [
  [
    ['release'],
    /cannot reach Redis at 127\.0\.0\.1:\d+ \(REDIS_URL from .*stack-env\.json: connection refused\)/,
  ],
  [['audit'], /cannot reach Redis at .*connection refused/],
  [['rebuild'], /cannot reach Redis at .*connection refused/],
  [['webhook-rejects'], /cannot reach Redis at .*connection refused/],
  [['dlq-redrive'], /cannot reach the queue \(SQS\) at 127\.0\.0\.1:\d+ \(SQS_ENDPOINT/],
  [['migrate', '--stage', 'local'], /cannot reach PostgreSQL at 127\.0\.0\.1:\d+ \(DATABASE_URL/],
  [['pay', ORDER], /cannot reach the API at localhost:\d+ .*or pass --url/],
  [['simulate', '--buyers', '5'], /cannot reach the API at 127\.0\.0\.1:\d+/],
];

/** One line on stderr, no stack trace, no client's log line, exit 1. */
function expectOneLine(r: { code: number; stdout: string; stderr: string }, message: RegExp) {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toMatch(/start the local stack with `npm start`/);
}

describe.concurrent('CLI commands with the local stack stopped', () => {
  it.each(COMMANDS)('%j names what it could not reach', async (args, message) => {
    expectOneLine(await cli(stopped, args), message);
  });
});

describe.concurrent('CLI commands on a DATA_DIR that holds no stack', () => {
  it.each([
    [['release'], /REDIS_URL is not set and .*stack-env\.json does not exist/],
    [['audit'], /REDIS_URL is not set/],
    [['migrate', '--stage', 'local'], /DATABASE_URL is not set/],
    [['dlq-redrive'], /ORDERS_DLQ_URL and ORDERS_QUEUE_URL must be set/],
    [['token'], /AUTH_JWT_SECRET is not set, and .*stack-env\.json does not exist/],
  ] as [string[], RegExp][])('%j says what is missing', async (args, message) => {
    const r = await cli(empty, args);
    expectOneLine(r, message);
    expect(r.stderr).toMatch(/or set DATABASE_URL, REDIS_URL/);
  });
});
