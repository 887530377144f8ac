// Pins down the command-line tools' refusals of bad input: each is one line and a non-zero exit
// before anything runs (no stack needed), never a NaN, a silent default, an expired token or a
// stack trace. bin/options.ts is the shared parser of their numeric options.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { integer, positiveNumber } from '../../bin/options';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

describe('integer()', () => {
  it('takes whole numbers in its range, written in decimal digits', () => {
    expect(integer(1)('5')).toBe(5);
    expect(integer(0)('0')).toBe(0);
    expect(integer(1, 1440)('1440')).toBe(1440);
    expect(integer(1)('1764650000000')).toBe(1764650000000);
  });
  it.each(['abc', '', ' ', '1.5', '1e3', '0x10', '5x', '-1', '0', '9007199254740993'])('refuses %j', (v) => {
    expect(() => integer(1)(v)).toThrow(InvalidArgumentError);
  });
  it('refuses values above its maximum', () => {
    expect(() => integer(1, 1440)('1441')).toThrow('from 1 to 1440');
  });
});

describe('positiveNumber()', () => {
  it('takes decimals above zero', () => {
    expect(positiveNumber('1.5')).toBe(1.5);
    expect(positiveNumber('40')).toBe(40);
  });
  it.each(['0', '-1', 'abc', '', 'Infinity', '1e3'])('refuses %j', (v) => {
    expect(() => positiveNumber(v)).toThrow(InvalidArgumentError);
  });
});

/**
 * A tool run with no stack and no settings of the caller's (DATA_DIR names no folder). The timeout
 * ends a tool that starts work instead of refusing or answering at once.
 */
async function tool(script: string, args: string[], env: Record<string, string> = {}) {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: ROOT,
      timeout: 30_000,
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], DATA_DIR: '/nonexistent-data', ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const REFUSED: [string, string[], RegExp][] = [
  ['bin/cli.ts', ['token', '--ttl', '-5'], /'--ttl <seconds>' argument '-5' is invalid/],
  ['bin/cli.ts', ['token', '--customer', ''], /sub must be 1-128 printable characters/],
  ['bin/cli.ts', ['simulate', '--plan-only', '--seed', 'abc'], /'--seed <n>' argument 'abc'/],
  ['bin/cli.ts', ['simulate', '--plan-only', '--buyers', 'abc'], /'--buyers <n>' argument 'abc'/],
  ['bin/cli.ts', ['webhook-rejects', '--minutes', 'abc'], /'--minutes <n>' argument 'abc'/],
  ['bin/cli.ts', ['dlq-redrive', '--max', 'abc'], /'--max <n>' argument 'abc'/],
  ['bin/cli.ts', ['dlq-redrive', '--max', '0'], /'--max <n>' argument '0'/],
  ['bin/cli.ts', ['dlq-redrive', '--max', '1.5'], /'--max <n>' argument '1.5'/],
  ['bin/cli.ts', ['audit', '--product', 'abc'], /'--product <id>' argument 'abc'/],
  ['bin/cli.ts', ['audit', '--product', '-1'], /'--product <id>' argument '-1'/],
  ['bin/cli.ts', ['pay', 'not-a-uuid'], /'not-a-uuid' is invalid .*UUID/],
  ['bin/cli.ts', ['prewarm', '--stage', 'x', '--product', '1', '--memory-mb', '64'], /'--memory-mb <mb>'/],
  // The default stage's reserved concurrency (200) is the default cap: 5,000 req/s needs 300.
  [
    'bin/cli.ts',
    [
      'prewarm',
      '--stage',
      'dev',
      '--product',
      '1',
      '--peak-rps',
      '5000',
      '--url',
      'http://127.0.0.1:9',
      '--dry-run',
    ],
    /needs 300 warm containers, above createOrder's reserved concurrency 200/,
  ],
  // The sale window is read over --url even in a dry run: an API that does not answer is named
  // (before: "flash-sale: fetch failed").
  [
    'bin/cli.ts',
    [
      'prewarm',
      '--stage',
      'dev',
      '--product',
      '1',
      '--peak-rps',
      '10',
      '--url',
      'http://127.0.0.1:1',
      '--dry-run',
    ],
    /cannot read product 1's sale window from http:\/\/127\.0\.0\.1:1 \(--url\): /,
  ],
  ['bin/ops.ts', ['rollback', '--stage', 'prod', '--timestamp', 'abc', '--dry-run'], /'--timestamp <ms>'/],
  ['infra/chaos/cli.ts', ['nosuch'], /'nosuch' is invalid .* choices are none, redis-kill/],
  ['infra/chaos/cli.ts', ['redis-kill', '--duration', 'abc'], /'--duration <s>' argument 'abc'/],
  ['load/bench.ts', ['--only', 'nosuch'], /unknown scenario nosuch; known: cold-start, http/],
  ['bin/cli.ts', ['bench', '--only', 'nosuch'], /unknown scenario nosuch; known: cold-start, http/],
  ['infra/local/invoke.ts', ['createOrder', 'nope.json'], /no event file nope\.json/],
  ['infra/aws/deploy.ts', ['--stage', 'x', '--bogus'], /Unknown option '--bogus'/],
  // Names MemoryDB (lowercase, 40 characters with its prefix) or RDS Proxy (no trailing or doubled
  // hyphen) would refuse mid-deploy, after the network and the data tier were created.
  ['infra/aws/deploy.ts', ['--stage', 'Prod'], /lowercase letters, digits and single hyphens/],
  ['infra/aws/deploy.ts', ['--stage', 'dev-'], /lowercase letters, digits and single hyphens/],
  ['infra/aws/deploy.ts', ['--stage', 'a--b'], /lowercase letters, digits and single hyphens/],
  ['infra/aws/deploy.ts', ['--stage', 'a'.repeat(27)], /longer than 26 characters/],
  ['load/artillery.ts', ['nosuch'], /'nosuch' is invalid .* choices are spike, sold-out, browse/],
  ['load/artillery.ts', ['spike', '--buyers', 'abc'], /'--buyers <n>' argument 'abc'/],
  ['infra/local/expiry-bench.ts', ['abc'], /value 'abc' is invalid for argument 'orders'/],
];

/** The long-running tools: each starts a stack, a load or a report, so `--help` must start nothing. */
const LONG_RUNNING = [
  'load/artillery.ts',
  'load/bench.ts',
  'load/soak.ts',
  'load/capacity.ts',
  'infra/chaos/cli.ts',
  'infra/local/expiry-bench.ts',
];

describe.concurrent('the long-running tools answer --help and refuse unknown options', () => {
  it.each(LONG_RUNNING)('%s --help: usage, exit 0, nothing started', async (script) => {
    const r = await tool(script, ['--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: /);
    expect(r.stderr).toBe('');
  });

  it.each(LONG_RUNNING)('%s --bogus: one line, non-zero exit', async (script) => {
    const r = await tool(script, ['--bogus']);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr.trim()).toBe("error: unknown option '--bogus'");
    expect(r.stdout).toBe('');
  });
});

describe.concurrent('the command-line tools refuse bad input in one line', () => {
  it.each(REFUSED)('%s %j', async (script, args, message) => {
    const r = await tool(script, args);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
  });

  it('an invalid setting is one line too', async () => {
    const r = await tool('bin/cli.ts', ['token'], { AUTH_JWT_SECRET: 'short' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      'flash-sale: invalid configuration: AUTH_JWT_SECRET: HS256 secret must be at least 32 bytes',
    );
  });

  it("prewarm sizes against the stage's own reserved concurrency (prod: 600)", async () => {
    const r = await tool('bin/cli.ts', [
      ...['prewarm', '--stage', 'prod', '--product', '1', '--peak-rps', '5000'],
      ...['--url', 'http://127.0.0.1:9', '--dry-run'],
    ]);
    // Past the sizing: it goes on to read the sale window (fetch refuses port 9).
    expect(r.stderr).not.toMatch(/reserved concurrency/);
    expect(r.stderr).toMatch(/cannot read product 1's sale window from http:\/\/127\.0\.0\.1:9/);
  });

  it('cli bench passes its flags to the bench unchanged', async () => {
    const r = await tool('bin/cli.ts', ['bench', '--list']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^http {2,}/m);
  });
});
