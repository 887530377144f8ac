// Builds every function of serverless.yml with its own custom.esbuild options (what `sls package`
// ships) into an out folder, and prints each bundle's size and createOrder's heaviest inputs.
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { load } from 'js-yaml';
import { productPlugins } from '../bench/cold-start';

interface Sls {
  functions: Record<string, { handler: string }>;
  custom: { esbuild: Record<string, any> };
}

export const ROOT = join(import.meta.dirname, '../..');

function functionFiles(sls: Sls): Map<string, string[]> {
  const files = new Map<string, string[]>();
  for (const [name, f] of Object.entries(sls.functions)) {
    const file = `${f.handler.slice(0, f.handler.lastIndexOf('.'))}.ts`;
    files.set(file, [...(files.get(file) ?? []), name]);
  }
  return files;
}

const readSls = () => load(readFileSync(join(ROOT, 'serverless.yml'), 'utf8')) as Sls;

/** The bundles an earlier bundleFunctions(outdir) wrote, without building again. */
export function bundlePaths(outdir: string) {
  return { sizes: sizesOf(functionFiles(readSls()), outdir) };
}

function sizesOf(files: Map<string, string[]>, outdir: string) {
  return [...files.entries()].map(([file, fns]) => {
    const out = join(outdir, file.replace(/\.ts$/, '.mjs'));
    return { functions: fns, file, out, bytes: statSync(out).size };
  });
}

export async function bundleFunctions(outdir: string, extra: string[] = []) {
  const sls = readSls();
  const o = sls.custom.esbuild;
  const files = functionFiles(sls);
  mkdirSync(outdir, { recursive: true });
  const r = await build({
    absWorkingDir: ROOT,
    entryPoints: [...files.keys(), ...extra],
    outdir,
    outbase: ROOT,
    bundle: o['bundle'],
    minify: o['minify'],
    sourcemap: o['sourcemap'],
    sourcesContent: o['sourcesContent'],
    format: o['format'],
    platform: o['platform'],
    target: o['target'],
    mainFields: o['mainFields'],
    banner: o['banner'],
    plugins: productPlugins(ROOT, o['plugins']),
    outExtension: { '.js': o['outputFileExtension'] },
    external: o['exclude'] ?? [],
    metafile: true,
    logLevel: 'warning',
  });
  return { sizes: sizesOf(files, outdir), metafile: r.metafile };
}

if (import.meta.main) {
  const outdir = process.argv[2] ?? join(ROOT, '.esbuild-profile');
  const { sizes, metafile } = await bundleFunctions(outdir);
  for (const s of sizes) console.log(`${String(s.bytes).padStart(9)}  ${s.functions.join(',')}`);
  const create = Object.entries(metafile.outputs).find(([k]) => k.endsWith('createOrder.mjs'))![1];
  const by = new Map<string, number>();
  for (const [input, v] of Object.entries(create.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const key = m ? m[1]! : '(project)';
    by.set(key, (by.get(key) ?? 0) + v.bytesInOutput);
  }
  console.log('createOrder by package:');
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${v}\t${k}`);
}
