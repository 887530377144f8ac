// Pins down the postgres.js patch (patches/postgres+3.4.9.patch, upstream porsager/postgres#1208):
// a query on a reserved connection or in a transaction whose backend died rejects with
// CONNECTION_CLOSED instead of killing the process with an uncaught `TypeError: Cannot read
// properties of null (reading 'write')`, in every build that runs here: ESM src (tsx), CommonJS
// (require) and an esbuild bundle built like the Lambda bundles (serverless.yml's format,
// platform and mainFields).
// The sequence runs in a child process so an unpatched crash is observed, not suffered.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';

const SCRIPT = 'tests/helpers/reserved-after-backend-death.mjs';
let bundleDir = '';
beforeAll(async () => {
  bundleDir = mkdtempSync(join(tmpdir(), 'pg-closed-socket-'));
  await build({
    entryPoints: [SCRIPT],
    outfile: join(bundleDir, 'bundle.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    mainFields: ['module', 'main'],
    logLevel: 'silent',
  });
});
afterAll(() => rmSync(bundleDir, { recursive: true, force: true }));

const runs = {
  esm: () => [SCRIPT, 'esm'],
  cjs: () => [SCRIPT, 'cjs'],
  bundle: () => [join(bundleDir, 'bundle.mjs'), 'esm'],
};

for (const [variant, args] of Object.entries(runs)) {
  it(`${variant}: queries on a reserved connection and in a transaction whose backend was terminated reject, the process survives`, async () => {
    const run = await promisify(execFile)(process.execPath, args(), {
      env: process.env,
      timeout: 30_000,
    }).catch((e: { code?: number; stdout?: string; stderr?: string }) => e);
    expect(run.stderr ?? '').not.toMatch(/Cannot read properties of null/);
    const exitCode = 'code' in run ? run.code : 0; // execFile rejects with the exit code
    expect(exitCode).toBe(0);
    // Each settles with the patch's error: none succeeds on a dead backend, none hangs.
    expect(JSON.parse(run.stdout ?? '')).toEqual({
      variant: args()[1],
      reservedAfter: ['CONNECTION_CLOSED', 'CONNECTION_CLOSED'],
      transaction: 'CONNECTION_CLOSED',
    });
  });
}
