// persistOrders as shipped (the bundle serverless.yml's esbuild options build), invoked in-process with
// SQS events of `--batch` accepted orders made the way createOrder makes them (reserve.lua, outbox
// entry and all): CPU and wall time per batch, without the trigger, the emulator or
// serverless-offline around it. With `--profile FILE` a .cpuprofile of the measured batches
// (load/profile/flame.ts draws it). Against the services of load/profile/stack.ts.
//   npx tsx load/profile/persist.ts [--batches 60] [--batch 100] [--profile FILE]
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { SQSEvent } from 'aws-lambda';
import { sqsEvent, sqsRecord } from '../../infra/local/lambda-event';
import { reserveBacklog } from '../bench/drain';
import { bundleFunctions, ROOT } from './bundle';
import { lambdaContext, newProduct, readStack, startProfile, stopProfile } from './common';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '60' },
    batch: { type: 'string', default: '100' },
    out: { type: 'string', default: join(ROOT, '.esbuild-profile') },
    'no-build': { type: 'boolean', default: false },
    profile: { type: 'string' },
  },
});
const batches = Number(values.batches);
const batch_size = Number(values.batch);
const WARMUP_BATCHES = 5;
const outdir = resolve(values.out);
const stack = readStack();
process.env['LOG_LEVEL'] = process.env['PROFILE_LOG_LEVEL'] ?? 'INFO'; // as deployed: a line per order
if (!values['no-build']) await bundleFunctions(outdir);
const { handler } = (await import(join(outdir, 'functions/persistOrders.mjs'))) as {
  handler: (e: SQSEvent, c: unknown) => Promise<{ batchItemFailures: unknown[] }>;
};
const { inventory } = await import('../../lib/container');

const product_id = await newProduct(stack);
const orders = await reserveBacklog(inventory(), product_id, (batches + WARMUP_BATCHES) * batch_size);
const events: SQSEvent[] = [];
for (let i = 0; i < orders.length; i += batch_size)
  events.push(sqsEvent(orders.slice(i, i + batch_size).map((o) => sqsRecord(JSON.stringify(o)))));

const ctx = lambdaContext('persistOrders');
for (const e of events.slice(0, WARMUP_BATCHES)) await invoke(e);
const session = values.profile ? await startProfile() : null;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (const e of events.slice(WARMUP_BATCHES)) await invoke(e);
const wall_ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
if (session) await stopProfile(session, values.profile!);
const cpu_ms = (cpu.user + cpu.system) / 1000;
console.error(
  `persistOrders, ${batches} batches of ${batch_size}: ${(wall_ms / batches).toFixed(2)} ms wall and ` +
    `${(cpu_ms / batches).toFixed(2)} ms CPU per batch (this process), ${((batches * batch_size) / (wall_ms / 1000)).toFixed(0)} orders/s one at a time` +
    `${session ? ' (profiler attached: ratios only)' : ''}`,
);
process.exit(0);

async function invoke(e: SQSEvent): Promise<void> {
  const r = await handler(e, ctx);
  if (r.batchItemFailures.length) throw new Error(`${r.batchItemFailures.length} records failed`);
}
