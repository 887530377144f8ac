// The bundles' esbuild plugin for ioredis (infra/build/esbuild-plugins.cjs): it puts Commander's
// prototype in dictionary mode right before ioredis defines its command methods, and it fails the
// build when that loop is not where it expects (an ioredis upgrade), instead of shipping without.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { afterAll, expect, it } from 'vitest';

const plugins = createRequire(import.meta.url)('../../infra/build/esbuild-plugins.cjs') as Plugin[] & {
  DICTIONARY_MODE: string;
};
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function bundle(entry: string, absWorkingDir: string): Promise<string> {
  const r = await build({
    absWorkingDir,
    stdin: { contents: entry, resolveDir: absWorkingDir },
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    plugins,
  });
  return r.outputFiles[0]!.text;
}

it("ioredis' command loop runs on a prototype put in dictionary mode first", async () => {
  // esbuild prints the code again: compared without whitespace.
  const code = (
    await bundle("import { Redis } from 'ioredis'; export default Redis;", process.cwd())
  ).replace(/\s+/g, '');
  const prepared = `${plugins.DICTIONARY_MODE}commands.forEach(function(commandName){`.replace(/\s+/g, '');
  expect(code).toContain(prepared);
});

it('a Commander.js without that loop fails the build, naming the file and the plugin', async () => {
  const root = mkdtempSync(join(tmpdir(), 'esbuild-plugins-'));
  dirs.push(root);
  const utils = join(root, 'node_modules/ioredis/built/utils');
  mkdirSync(utils, { recursive: true });
  writeFileSync(join(utils, 'Commander.js'), 'for (const c of commands) Commander.prototype[c] = f(c);\n');
  await expect(bundle("import './node_modules/ioredis/built/utils/Commander.js';", root)).rejects.toThrow(
    /Commander\.js: ioredis' command loop .* infra\/build\/esbuild-plugins\.cjs/,
  );
});
