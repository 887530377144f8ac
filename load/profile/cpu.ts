// A CPU profile of createOrder as shipped (the bundle serverless.yml's esbuild options build) against
// the bench's send-only handler (load/bench/send-only.ts, bundled the same way), driven by the
// bench's own handler-level loop (load/bench/handler-level.ts): the same events, the same CPU figure.
// The profiler records the measured rounds only (node:inspector, 100 µs sampling), not the warm-up;
// load/profile/flame.ts turns the .cpuprofile into a flame graph.
//   npx tsx load/profile/cpu.ts [--in-flight 1] [--seconds 8] [--profile FILE] [--only createOrder]
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { acc, drive, type Handler, type HandlerSpec, summary } from '../bench/handler-level';
import { bundleFunctions, ROOT } from './bundle';
import { newProduct, readStack, startProfile, stopProfile } from './common';

const { values } = parseArgs({
  options: {
    'in-flight': { type: 'string', default: '1' },
    /** measured seconds per handler, in 4 alternating rounds */
    seconds: { type: 'string', default: '8' },
    only: { type: 'string' },
    out: { type: 'string', default: join(ROOT, '.esbuild-profile') },
    'no-build': { type: 'boolean', default: false },
    /** write a .cpuprofile of the measured rounds */
    profile: { type: 'string' },
  },
});
const ROUNDS = 4;
const outdir = resolve(values.out);
const stack = readStack();
process.env['BENCH_SEND_ONLY_QUEUE_URL'] = stack.sendOnlyQueueUrl;
process.env['LOG_LEVEL'] = process.env['PROFILE_LOG_LEVEL'] ?? 'INFO'; // deployed: one access line
const spec: HandlerSpec = {
  product_id: await newProduct(stack),
  tokens: stack.tokens,
  warmup_s: 2,
  duration_s: Number(values.seconds),
  in_flight: [Number(values['in-flight'])],
};
if (!values['no-build']) await bundleFunctions(outdir, ['load/bench/send-only.ts']);
const handlers: Record<'createOrder' | 'sendOnly', Handler> = {
  createOrder: (await import(join(outdir, 'functions/createOrder.mjs'))).handler,
  sendOnly: (await import(join(outdir, 'load/bench/send-only.mjs'))).handler,
};
const names = values.only ? [values.only as keyof typeof handlers] : (['createOrder', 'sendOnly'] as const);

// Stdout carries the access and metrics lines (as Lambda's would): redirect it, it is still written.
for (const name of names) await drive(acc(name, 10), handlers[name], spec, spec.warmup_s);
const session = values.profile ? await startProfile() : null;
const c = spec.in_flight[0]!;
const runs = names.map((name) => acc(name, c));
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, name] of names.entries())
    await drive(runs[i]!, handlers[name], spec, spec.duration_s / ROUNDS);
}
if (session) await stopProfile(session, values.profile!);
const cpu = Object.fromEntries(runs.map((a) => [a.name, summary(a)]));
for (const s of Object.values(cpu))
  console.error(
    `${s.handler.padEnd(12)} ${c} in flight: ${s.cpu_ms_per_invocation.toFixed(3)} ms CPU/inv, p50 ${s.duration_ms.p50} ms (${s.invocations} inv, ${JSON.stringify(s.status)})`,
  );
if (cpu['createOrder'] && cpu['sendOnly'])
  console.error(
    `createOrder / sendOnly CPU: ${(cpu['createOrder'].cpu_ms_per_invocation / cpu['sendOnly'].cpu_ms_per_invocation).toFixed(2)}x${values.profile ? ' (profiler attached: ratios only)' : ''}`,
  );
process.exit(0); // the warm clients would keep the process alive
