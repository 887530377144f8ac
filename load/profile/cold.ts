// Cold start of createOrder as Lambda pays it: a fresh Node process (NODE_OPTIONS, LOG_LEVEL as deployed)
// imports the bundle (init), then invokes it once against the local stack (first invocation) and
// once more (second). Median of RUNS fresh processes; every bundle's init too with --all.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { deployedRuntimeEnv, RUNTIME_PRELUDE } from '../bench/cold-start';
import { bundleFunctions, bundlePaths, ROOT } from './bundle';
import { median, newProduct, orderEvent, readStack } from './common';

const RUNS = Number(process.env['RUNS'] ?? 7);
// As an AWS stage sets them (infra/aws/environment.yml) unless overridden.
const deployed = deployedRuntimeEnv(ROOT);
const NODE_OPTIONS = process.env['PROBE_NODE_OPTIONS'] ?? deployed.NODE_OPTIONS;

function probe(bundle: string, event: unknown | null): Promise<Record<string, number>> {
  const code = `${RUNTIME_PRELUDE}
    const t0 = performance.now(); const c0 = process.cpuUsage();
    const m = await import(${JSON.stringify(`file://${bundle}`)});
    const cpu = (c) => { const d = process.cpuUsage(c); return (d.user + d.system) / 1000; };
    const out = { init_ms: performance.now() - t0, init_cpu_ms: cpu(c0) };
    const ev = process.env.PROBE_EVENT;
    if (ev) {
      const ctx = { functionName: 'probe', awsRequestId: 'probe', getRemainingTimeInMillis: () => 6000 };
      let t = performance.now(); let c1 = process.cpuUsage(); const r1 = await m.handler(JSON.parse(ev), ctx); out.first_ms = performance.now() - t; out.first_cpu_ms = cpu(c1);
      t = performance.now(); const r2 = await m.handler(JSON.parse(ev), ctx); out.second_ms = performance.now() - t;
      if (r1.statusCode !== 202 || r2.statusCode !== 202) throw new Error('not 202: ' + r1.statusCode + ' ' + r1.body);
    }
    process.stderr.write('@@' + JSON.stringify(out) + '\\n');
    process.exit(0);`;
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--input-type=module', '-e', code], {
      env: {
        ...process.env,
        NODE_OPTIONS,
        PROBE_EVENT: event ? JSON.stringify(event) : '',
        LOG_LEVEL: deployed.LOG_LEVEL,
        LAMBDA_TASK_ROOT: ROOT,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    c.stderr.on('data', (d) => {
      err += String(d);
    });
    c.on('close', () => {
      const line = err.split('\n').find((l) => l.startsWith('@@'));
      if (line) resolve(JSON.parse(line.slice(2)));
      else reject(new Error(err));
    });
  });
}

const stack = readStack();
// Usage: cold.ts [OUTDIR] [--no-build] [--all]
const outdir = resolve(
  process.argv.slice(2).find((a) => !a.startsWith('--')) ?? join(ROOT, '.esbuild-profile'),
);
const { sizes } = process.argv.includes('--no-build') ? bundlePaths(outdir) : await bundleFunctions(outdir);
const product_id = await newProduct(stack);
const create = sizes.find((s) => s.functions.includes('createOrder'))!;
const rows: Record<string, number[]> = {
  init_ms: [],
  first_ms: [],
  second_ms: [],
  total_ms: [],
  init_cpu_ms: [],
  first_cpu_ms: [],
  total_cpu_ms: [],
};
for (let i = 0; i < RUNS; i++) {
  const r = await probe(create.out, orderEvent(stack.tokens[i % stack.tokens.length]!, product_id));
  rows['init_ms']!.push(r['init_ms']!);
  rows['first_ms']!.push(r['first_ms']!);
  rows['second_ms']!.push(r['second_ms']!);
  rows['total_ms']!.push(r['init_ms']! + r['first_ms']!);
  rows['init_cpu_ms']!.push(r['init_cpu_ms']!);
  rows['first_cpu_ms']!.push(r['first_cpu_ms']!);
  rows['total_cpu_ms']!.push(r['init_cpu_ms']! + r['first_cpu_ms']!);
}
console.log(
  `createOrder ${create.bytes} B, NODE_OPTIONS='${NODE_OPTIONS}', ${RUNS} fresh processes (median; min-max)`,
);
for (const [k, xs] of Object.entries(rows))
  console.log(
    `  ${k.padEnd(10)} ${median(xs).toFixed(1)}  (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)})`,
  );
if (process.argv.includes('--all')) {
  console.log('every bundle: bytes, init wall ms and CPU ms (medians of 3)');
  for (const s of sizes) {
    const xs: number[] = [];
    const cs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await probe(s.out, null);
      xs.push(r['init_ms']!);
      cs.push(r['init_cpu_ms']!);
    }
    console.log(
      `  ${s.functions.join(',').padEnd(22)} ${String(s.bytes).padStart(8)}  ${median(xs).toFixed(0)} ms  cpu ${median(cs).toFixed(0)} ms`,
    );
  }
}
process.exit(0);
