// lib/platform/stack-maps.ts formats the stacks of a bundled function in place of Node's own
// formatting: each frame mapped to its source, everything else as Node writes it. Checked on a
// minified bundle with its linked map, as serverless.yml builds them, in a plain Node process (no
// --enable-source-maps, no tsx: the hook would stand aside), against Node's formatting of the same
// error in the same process before the hook is installed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';

const PROBE = `
import { readFileSync } from 'node:fs';
import { installStackMaps } from './lib/platform/stack-maps';

/** An error of Node's own (a code, ERR_INVALID_ARG_TYPE), thrown through a frame of this file. */
function nodeError(): Error {
  try {
    readFileSync({} as string);
  } catch (e) {
    return e as Error;
  }
  throw new Error('readFileSync did not throw');
}

const node = nodeError().stack!;
installStackMaps();
const hooked = nodeError().stack!;
process.stdout.write(JSON.stringify({ node, hooked }));
`;

let dir: string;
let stacks: { node: string; hooked: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stack-maps-'));
  const outfile = join(dir, 'probe.mjs');
  await build({
    stdin: { contents: PROBE, resolveDir: process.cwd(), sourcefile: 'probe.ts', loader: 'ts' },
    outfile,
    bundle: true,
    minify: true,
    sourcemap: 'linked',
    sourcesContent: false,
    platform: 'node',
    format: 'esm',
    logLevel: 'silent',
  });
  const r = spawnSync(process.execPath, [outfile], {
    env: { PATH: process.env['PATH'] },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`probe failed: ${r.stdout}\n${r.stderr}`);
  stacks = JSON.parse(r.stdout);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('maps the bundle frames to their source (the hook is the one formatting)', () => {
  expect(stacks.node).toContain('probe.mjs:');
  expect(stacks.hooked).toMatch(/at nodeError \(\/.*probe\.ts:\d+:\d+\)/);
  expect(stacks.hooked).not.toContain('probe.mjs:');
});

it("keeps Node's first line of the stack: an error of Node's own names its code", () => {
  const first = (s: string) => s.split('\n')[0];
  expect(first(stacks.node)).toMatch(/^TypeError \[ERR_INVALID_ARG_TYPE\]: /);
  expect(first(stacks.hooked)).toBe(first(stacks.node));
});
