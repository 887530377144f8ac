// What X-Ray tracing with Powertools Tracer would cost createOrder, measured before deciding where to
// trace (README, "Logs and metrics"): `npx tsx load/bench/tracing-cost.ts`.
//  - init: the createOrder bundle (serverless.yml's esbuild options) loaded in a fresh Node process,
//    as built, and with Tracer wrapped around it (captureLambdaHandler + the SQS client captured);
//  - CPU per invocation that the tracer adds: a middy handler doing nothing, with and without
//    captureLambdaHandler and one subsegment (what one captured SQS send adds), in the environment
//    Lambda gives a traced function (segments go by UDP to a daemon address on loopback).
// Nothing here reaches AWS; the UDP datagrams go to 127.0.0.1, where nothing listens.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { readServerlessConfig } from './cold-start';

const ROOT = resolve(import.meta.dirname, '..', '..');
const OUT = join(ROOT, '.esbuild', 'tracing-cost');
const LOADS = 11;
const CALLS = 20_000;

/** The variables Lambda sets for a function with active tracing on. */
const TRACED_ENV = {
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  AWS_LAMBDA_FUNCTION_NAME: 'createOrder',
  LAMBDA_TASK_ROOT: OUT,
  _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
  AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
  AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
  ORDERS_QUEUE_URL: 'http://127.0.0.1:9/000000000000/none',
  LOG_LEVEL: 'ERROR',
};

const TRACED_ENTRY = `
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { handler as base } from '../../functions/createOrder';
import { sqsClient } from '../../lib/queue/sqs';
const tracer = new Tracer({ serviceName: 'flash-sale' });
tracer.captureAWSv3Client(sqsClient());
export const handler = base.use(captureLambdaHandler(tracer));
`;

async function bundle(entry: string, name: string): Promise<string> {
  const o = readServerlessConfig(ROOT).custom.esbuild;
  const outfile = join(OUT, `${name}.mjs`);
  await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: o['minify'],
    format: 'esm',
    platform: 'node',
    target: o['target'],
    mainFields: o['mainFields'],
    banner: o['banner'],
    external: o['exclude'],
    logLevel: 'silent',
  });
  return outfile;
}

/**
 * Loading a bundle in a fresh process: wall ms and CPU ms of the import. CPU is the figure to trust
 * on a shared machine (wall time also counts waiting for a core); the two bundles are loaded in
 * turns so both meet the same load.
 */
function initMs(files: string[]): { wall_ms: number; cpu_ms: number }[] {
  const code = (file: string) => `const c0 = process.cpuUsage(); const t0 = performance.now();
    await import(${JSON.stringify(`file://${file}`)});
    const c = process.cpuUsage(c0);
    process.stdout.write(JSON.stringify([performance.now() - t0, (c.user + c.system) / 1000])); process.exit(0);`;
  const runs = files.map(() => [] as [number, number][]);
  for (let i = 0; i < LOADS; i++) {
    files.forEach((file, k) => {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', code(file)], {
        env: { ...process.env, ...TRACED_ENV },
        encoding: 'utf8',
      });
      runs[k]!.push(JSON.parse(r.stdout) as [number, number]);
    });
  }
  return runs.map((r) => ({
    wall_ms: Math.round(median(r.map((x) => x[0]))),
    cpu_ms: Math.round(median(r.map((x) => x[1]))),
  }));
}

const NOOP_ENTRY = `
import middy from '@middy/core';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
const tracer = new Tracer({ serviceName: 'flash-sale' });
const work = async () => ({ statusCode: 202 });
export const plain = middy().handler(work);
export const traced = middy().handler(async () => {
  const sub = tracer.getSegment()?.addNewSubsegment('SQS.SendMessage');
  const r = await work();
  sub?.close();
  return r;
}).use(captureLambdaHandler(tracer));
`;

function cpuPerCallUs(file: string, exportName: 'plain' | 'traced'): number {
  const code = `const m = await import(${JSON.stringify(`file://${file}`)});
    const h = m[${JSON.stringify(exportName)}];
    const ctx = { functionName: 'createOrder', awsRequestId: 'r', getRemainingTimeInMillis: () => 6000 };
    for (let i = 0; i < 2000; i++) await h({}, ctx);
    const c0 = process.cpuUsage();
    for (let i = 0; i < ${CALLS}; i++) await h({}, ctx);
    const c = process.cpuUsage(c0);
    process.stdout.write(String((c.user + c.system) / ${CALLS})); process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, ...TRACED_ENV },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(r.stdout);
}

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)]!;
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const tracedEntry = join(ROOT, 'load', 'bench', '.traced-create-order.ts');
const noopEntry = join(ROOT, 'load', 'bench', '.noop-traced.ts');
writeFileSync(tracedEntry, TRACED_ENTRY);
writeFileSync(noopEntry, NOOP_ENTRY);
try {
  const plainBundle = await bundle(join(ROOT, 'functions', 'createOrder.ts'), 'createOrder');
  const tracedBundle = await bundle(tracedEntry, 'createOrder-traced');
  const noop = await bundle(noopEntry, 'noop');
  const { statSync } = await import('node:fs');
  const result = {
    bundle_bytes: { plain: statSync(plainBundle).size, traced: statSync(tracedBundle).size },
    init_median_of_11: Object.fromEntries(
      initMs([plainBundle, tracedBundle]).map((r, i) => [i === 0 ? 'plain' : 'traced', r]),
    ),
    cpu_us_per_invocation: {
      plain: Math.round(cpuPerCallUs(noop, 'plain') * 10) / 10,
      traced: Math.round(cpuPerCallUs(noop, 'traced') * 10) / 10,
    },
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  rmSync(tracedEntry, { force: true });
  rmSync(noopEntry, { force: true });
}
