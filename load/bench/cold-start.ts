// Cold start: every function of serverless.yml bundled with its own esbuild options (the same
// build serverless-esbuild does for `sls package`), the size of each bundle, what weighs most in
// createOrder's, and the time a fresh Node process takes to load each bundle (module init: what
// Lambda reports as Init Duration minus the runtime's own start) plus createOrder's first calls.
// Init, first and second invocation are each the median of three fresh processes, with
// NODE_OPTIONS and LOG_LEVEL as deployed, each process first loading what Lambda's Node.js runtime
// has loaded before it imports a handler (RUNTIME_PRELOADED).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { basename, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile, type Plugin } from 'esbuild';
import { load } from 'js-yaml';

interface SlsConfig {
  provider: { memorySize?: number };
  functions: Record<string, { handler: string; memorySize?: number }>;
  custom: { esbuild: Record<string, any> };
}

export interface BundleFigures {
  function: string;
  file: string;
  bytes: number;
  gzip_bytes: number;
  init_ms: number | null;
  /** the first and second invocation after init (null: not measured, see not_normal) */
  first_ms?: number | null;
  second_ms?: number | null;
  /** what a probe answered instead of the normal answer (then its invocations are not measured) */
  not_normal?: unknown;
}

/**
 * One probe's event (and, for a write whose repeat is not its normal path, the second invocation's
 * own) and the status its normal answer has; null for a function without HTTP (the queue consumer,
 * the schedule, migrate): its normal answer is a value with no `batchItemFailures`. Any other answer
 * is not measured.
 */
export type ProbeEvent = (probe: number) => { event: unknown; second?: unknown; status: number | null };

export interface ColdStartResult {
  bundles: BundleFigures[];
  create_order_top_packages: { name: string; bytes: number }[];
  create_order_first_invoke_ms: number | null;
  create_order_second_invoke_ms: number | null;
  /** createOrder's init with NODE_OPTIONS=--enable-source-maps added: what Node's own mapping costs */
  create_order_init_ms_with_node_source_maps: number | null;
  node_options: string;
  memory_mb: number;
  /** the machine's 1-minute load average when the probes started */
  loadavg_1m_at_start: number;
}

/**
 * The Node modules Lambda's Node.js runtime has required before it imports the handler, so a
 * handler's init does not pay for them there: its Runtime API client (`http`, and `net` for
 * response streaming), `util`, `fs`, `path` and `assert` (aws-lambda-nodejs-runtime-interface-client,
 * src/RAPIDClient.js, ResponseStream.js, LogPatch.js, UserFunction.js, InvokeContext.js; the
 * nodejs24.x runtime is built from it). A probe loads them before it starts the clock; without
 * them init counted ~5 ms of `http`'s and `net`'s loading that no Lambda init pays.
 */
export const RUNTIME_PRELOADED = ['http', 'net', 'util', 'fs', 'path', 'assert'];

/** The probe's first lines: require what the runtime has loaded (RUNTIME_PRELOADED). */
export const RUNTIME_PRELUDE = `
    const { createRequire } = await import('node:module');
    const runtimeRequire = createRequire(import.meta.url);
    for (const m of ${JSON.stringify(RUNTIME_PRELOADED)}) runtimeRequire(m);`;

/**
 * NODE_OPTIONS and LOG_LEVEL as an AWS stage sets them (infra/aws/environment.yml): the probe loads
 * and runs each bundle the way Lambda would, source-map loading and the access-log line included.
 */
export function deployedRuntimeEnv(root: string): { NODE_OPTIONS: string; LOG_LEVEL: string } {
  const env = load(readFileSync(join(root, 'infra/aws/environment.yml'), 'utf8')) as Record<string, unknown>;
  return { NODE_OPTIONS: String(env['NODE_OPTIONS'] ?? ''), LOG_LEVEL: String(env['LOG_LEVEL'] ?? 'INFO') };
}

/** serverless.yml's `custom.esbuild.plugins` (a CommonJS file serverless-esbuild requires), loaded the same way. */
export function productPlugins(root: string, file: string | undefined): Plugin[] {
  return file ? (createRequire(import.meta.url)(join(root, file)) as Plugin[]) : [];
}

export function readServerlessConfig(root: string): SlsConfig {
  return load(readFileSync(join(root, 'serverless.yml'), 'utf8')) as SlsConfig;
}

export async function bundleAll(root: string, outdir: string) {
  const sls = readServerlessConfig(root);
  const o = sls.custom.esbuild;
  const entries = new Map<string, string[]>(); // source file -> functions using it
  for (const [name, f] of Object.entries(sls.functions)) {
    const file = `${f.handler.slice(0, f.handler.lastIndexOf('.'))}.ts`;
    entries.set(file, [...(entries.get(file) ?? []), name]);
  }
  mkdirSync(outdir, { recursive: true });
  const r = await build({
    absWorkingDir: root,
    entryPoints: [...entries.keys()],
    outdir,
    outbase: root,
    bundle: o['bundle'] ?? true,
    minify: o['minify'] ?? false,
    sourcemap: o['sourcemap'] ?? false,
    sourcesContent: o['sourcesContent'] ?? true,
    format: o['format'] ?? 'esm',
    platform: o['platform'] ?? 'node',
    target: o['target'] ?? 'node24',
    mainFields: o['mainFields'],
    banner: o['banner'],
    plugins: productPlugins(root, o['plugins']),
    outExtension: { '.js': o['outputFileExtension'] ?? '.mjs' },
    external: o['exclude'] ?? [],
    metafile: true,
    logLevel: 'silent',
  });
  return { sls, entries, metafile: r.metafile };
}

function topPackages(meta: Metafile, outFile: string): { name: string; bytes: number }[] {
  const out = meta.outputs[outFile];
  if (!out) return [];
  const by = new Map<string, number>();
  for (const [input, v] of Object.entries(out.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const key = m
      ? m[1]!
      : input.startsWith('lib/') || input.startsWith('functions/')
        ? '(project code)'
        : input;
    by.set(key, (by.get(key) ?? 0) + v.bytesInOutput);
  }
  return [...by.entries()]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 8);
}

/** Median of three loads: the first load of a file also pays for reading it into the page cache. */
function median(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)]! : null;
}

/** Loads a bundle in a fresh Node process; optionally invokes its handler twice with `event`. */
function probe(
  bundle: string,
  env: Record<string, string>,
  opts: {
    exportName: string;
    event?: unknown;
    second?: unknown;
    expectStatus?: number | null;
    nodeOptions: string;
    logLevel: string;
  },
): Promise<{ init_ms: number; first_ms?: number; second_ms?: number; status?: unknown } | null> {
  const code = `${RUNTIME_PRELUDE}
    const t0 = performance.now();
    const m = await import(${JSON.stringify(`file://${bundle}`)});
    const init_ms = performance.now() - t0;
    const out = { init_ms };
    const ev = process.env.BENCH_PROBE_EVENT;
    if (ev) {
      const h = m[${JSON.stringify(opts.exportName)}];
      const ctx = { functionName: 'probe', awsRequestId: 'probe', getRemainingTimeInMillis: () => 60000 };
      const ev2 = process.env.BENCH_PROBE_EVENT2 || ev;
      let t = performance.now(); const r1 = await h(JSON.parse(ev), ctx); out.first_ms = performance.now() - t;
      t = performance.now(); const r2 = await h(JSON.parse(ev2), ctx); out.second_ms = performance.now() - t;
      // Only the normal answer is the path measured (createOrder: 202): a refusal is cheaper.
      const want = process.env.BENCH_PROBE_STATUS;
      const normal = (r) => want === 'none' ? r != null && !r.batchItemFailures?.length : r?.statusCode === Number(want);
      if (!normal(r1) || !normal(r2)) { out.first_ms = null; out.second_ms = null; out.status = [r1?.statusCode ?? r1, r2?.statusCode ?? r2]; }
    }
    process.stderr.write(JSON.stringify(out) + '\\n');
    process.exit(0);`;
  // Asynchronously: a blocked event loop here would stop this process draining the stack's log pipes.
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--input-type=module', '-e', code], {
      env: {
        ...process.env,
        ...env,
        NODE_OPTIONS: opts.nodeOptions,
        BENCH_PROBE_EVENT: opts.event ? JSON.stringify(opts.event) : '',
        BENCH_PROBE_EVENT2: opts.second ? JSON.stringify(opts.second) : '',
        BENCH_PROBE_STATUS: opts.expectStatus === null ? 'none' : String(opts.expectStatus ?? ''),
        LOG_LEVEL: opts.logLevel,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    c.stderr.on('data', (d) => {
      err += String(d);
    });
    const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
    c.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(err.trim().split('\n').pop() ?? ''));
      } catch {
        resolve(null);
      }
    });
  });
}

export async function coldStart(
  root: string,
  outdir: string,
  env: Record<string, string>,
  /**
   * Per function, the event of each probe's two invocations and the status its normal answer has
   * (createOrder: a buyer per probe, so no per-customer limit answers). A function without one
   * (a write other than createOrder, the queue consumer, the schedule) is loaded only.
   */
  events: Record<string, ProbeEvent>,
): Promise<ColdStartResult> {
  const loadavg_1m_at_start = loadavg()[0]!;
  const { sls, entries, metafile } = await bundleAll(root, outdir);
  const bundles: BundleFigures[] = [];
  let top: ColdStartResult['create_order_top_packages'] = [];
  let nodeMaps: number | null = null;
  // LAMBDA_TASK_ROOT: where the Lua scripts and migrations are packaged (the project root here).
  const probeEnv = { ...env, LAMBDA_TASK_ROOT: root };
  const deployed = deployedRuntimeEnv(root);
  for (const [file, fns] of entries) {
    const out = join(outdir, file.replace(/\.ts$/, '.mjs'));
    const bytes = statSync(out).size;
    const gzip_bytes = gzipSync(readFileSync(out)).length;
    for (const fn of fns) {
      const handler = sls.functions[fn]!.handler;
      const exportName = handler.slice(handler.lastIndexOf('.') + 1);
      // Init, and with an event the first and second invocation in the same fresh process: the
      // median of three of each (one sample of a first invocation moves by ±30 %).
      const runs = [];
      for (let i = 0; i < 3; i++) {
        const ev = events[fn]?.(i);
        runs.push(
          await probe(out, probeEnv, {
            exportName,
            ...(ev ? { event: ev.event, second: ev.second, expectStatus: ev.status } : {}),
            nodeOptions: deployed.NODE_OPTIONS,
            logLevel: deployed.LOG_LEVEL,
          }),
        );
      }
      const init_ms = median(runs.map((p) => p?.init_ms ?? null));
      const first_ms = events[fn] ? median(runs.map((p) => p?.first_ms ?? null)) : null;
      const second_ms = events[fn] ? median(runs.map((p) => p?.second_ms ?? null)) : null;
      if (fn === 'createOrder') {
        top = topPackages(metafile, relative(root, out));
        const xs: (number | null)[] = [];
        for (let i = 0; i < 3; i++) {
          const nodeOptions = `${deployed.NODE_OPTIONS} --enable-source-maps`.trim();
          xs.push(
            (await probe(out, probeEnv, { exportName, nodeOptions, logLevel: deployed.LOG_LEVEL }))
              ?.init_ms ?? null,
          );
        }
        nodeMaps = median(xs);
      }
      const not_normal = runs.find((p) => p?.status !== undefined)?.status;
      bundles.push({
        function: fn,
        file: basename(out),
        bytes,
        gzip_bytes,
        init_ms,
        first_ms,
        second_ms,
        ...(not_normal === undefined ? {} : { not_normal }),
      });
    }
  }
  const create = bundles.find((b) => b.function === 'createOrder');
  return {
    bundles,
    create_order_top_packages: top,
    create_order_first_invoke_ms: create?.first_ms ?? null,
    create_order_second_invoke_ms: create?.second_ms ?? null,
    create_order_init_ms_with_node_source_maps: nodeMaps,
    node_options: `${deployed.NODE_OPTIONS} (infra/aws/environment.yml, provider.environment)`,
    memory_mb: sls.provider.memorySize ?? 1024,
    loadavg_1m_at_start,
  };
}
