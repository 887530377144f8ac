// A deployed function's logged stack traces name the source files (lib/http/route.ts:27), though no
// stage sets NODE_OPTIONS=--enable-source-maps any more (it cost every cold start ~3–7 ms):
// lib/platform/stack-maps.ts maps them when one is formatted. Checked on the prod package as shipped
// (createOrder.zip), loaded by a plain Node process: an event without headers makes route() throw,
// which the handler logs as `unhandled error` with the error's location and stack.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageDir } from '../../infra/aws/package';

let dir: string;
let noMap: string;

beforeAll(() => {
  // Under the project, so the bundle resolves the AWS SDK (the runtime's copy in Lambda) from node_modules.
  dir = mkdtempSync(join(packageDir('prod'), 'stack-maps-'));
  execFileSync('unzip', ['-q', join(packageDir('prod'), 'createOrder.zip'), '-d', dir]);
  noMap = `${dir}-nomap`;
  cpSync(dir, noMap, { recursive: true, filter: (f) => !f.endsWith('.map') });
});

afterAll(() => {
  for (const d of [dir, noMap]) if (d) rmSync(d, { recursive: true, force: true });
});

interface LoggedError {
  location: string;
  stack: string;
}

function loggedError(root: string, nodeOptions: string): LoggedError {
  const bundle = pathToFileURL(join(root, 'functions/createOrder.mjs')).href;
  const code = `const m = await import(${JSON.stringify(bundle)});
    const r = await m.handler({}, { functionName: 'probe', awsRequestId: 'probe', getRemainingTimeInMillis: () => 6000 });
    if (r.statusCode !== 500) throw new Error('expected a 500, got ' + JSON.stringify(r));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    env: { PATH: process.env['PATH'], NODE_OPTIONS: nodeOptions, LOG_LEVEL: 'INFO' },
    encoding: 'utf8',
  });
  // Powertools writes ERROR lines to stderr.
  const line = r.stderr.split('\n').find((l) => l.includes('"unhandled error"'));
  if (!line) throw new Error(`no error logged: ${r.stdout}\n${r.stderr}`);
  return JSON.parse(line).error as LoggedError;
}

describe('logged stack traces of a packaged function', () => {
  it('name source files and functions without --enable-source-maps', () => {
    const e = loggedError(dir, '');
    expect(e.location).toMatch(/\/lib\/http\/route\.ts:\d+$/);
    expect(e.stack).toMatch(/at identify \(\/.+\/lib\/http\/route\.ts:\d+:\d+\)/);
    expect(e.stack).toMatch(/node_modules\/@middy\/core\/[^:]+\.js:\d+:\d+/);
    expect(e.stack).not.toContain('createOrder.mjs:');
  });

  it('without its map, the same stack names only the minified bundle (what the mapping replaces)', () => {
    const e = loggedError(noMap, '');
    expect(e.location).toMatch(/functions\/createOrder\.mjs:\d+$/);
    expect(e.stack).toContain('createOrder.mjs:');
  });

  it("stand aside when Node's own source maps are on: the same location", () => {
    expect(loggedError(dir, '--enable-source-maps').location).toBe(loggedError(dir, '').location);
  });

  it('no stage sets NODE_OPTIONS (no function pays for source maps at init)', () => {
    for (const stage of ['dev', 'prod']) {
      const t = readFileSync(join(packageDir(stage), 'cloudformation-template-update-stack.json'), 'utf8');
      expect(t).not.toContain('enable-source-maps');
    }
  });
});
