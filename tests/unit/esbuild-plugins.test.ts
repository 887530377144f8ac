// The bundles' esbuild plugin for ioredis (infra/build/esbuild-plugins.cjs): it puts Commander's
// prototype in dictionary mode right before ioredis defines its command methods, and it fails the
// build when that loop is not where it expects (an ioredis upgrade), instead of shipping without.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, SourceMap } from 'node:module';
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

it("Commander.js's lines keep their numbers in the bundle's source map (stack frames in ioredis map to the right line)", async () => {
  const r = await build({
    absWorkingDir: process.cwd(),
    stdin: { contents: "import { Redis } from 'ioredis'; export default Redis;", resolveDir: process.cwd() },
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    outfile: 'out.mjs',
    sourcemap: 'external',
    logLevel: 'silent',
    plugins,
  });
  const code = r.outputFiles.find((f) => f.path.endsWith('.mjs'))!.text;
  const map = new SourceMap(JSON.parse(r.outputFiles.find((f) => f.path.endsWith('.map'))!.text));
  const file = createRequire(import.meta.url).resolve('ioredis/built/utils/Commander.js');
  const original = readFileSync(file, 'utf8').split('\n');
  // Lines past the inserted statement: the loop's body and the function every command goes through.
  for (const text of ['Commander.prototype.call = ', 'function generateFunction(']) {
    const at = code.indexOf(text);
    const line = code.slice(0, at).split('\n').length - 1;
    const column = at - code.lastIndexOf('\n', at) - 1;
    const e = map.findEntry(line, column) as { originalSource?: string; originalLine?: number };
    expect(e.originalSource).toMatch(/ioredis\/built\/utils\/Commander\.js$/);
    expect({ text, line: original[e.originalLine!]?.trim().slice(0, text.length) }).toEqual({
      text,
      line: text,
    });
  }
});
