// What a wait costs in CPU on this machine, apart from the code that runs: the same work measured
// back to back and after the process sat idle for 1 ms. At 1 in flight createOrder idles while
// Redis writes its AOF (`appendfsync always`), then runs the SQS send; the send-only floor never
// idles long (the emulator answers within ~50 µs on the other core). If idling makes the code after
// it dearer (caches and branch predictors cold again), part of createOrder's CPU over send-only is
// that wait, not its own code. load/README.md, "createOrder per invocation at 1 in flight".
//   npx tsx load/profile/stack.ts &   then   npx tsx load/profile/idle-tax.ts [--rounds 6] > /dev/null
// Part 1: createOrder, send-only, and send-only behind a 1 ms timer, taking turns in one process
// (the shipped bundles, the bench's handler-level loop). Part 2: no I/O at all, one access-log line
// of Powertools Logger (the shape createOrder writes) and an empty function, each with and without
// the idle millisecond before it. Figures go to stderr; stdout carries the log lines.
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { acc, drive, type Handler, type HandlerSpec, summary } from '../bench/handler-level';
import { bundleFunctions, ROOT } from './bundle';
import { median, newProduct, readStack } from './common';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    /** measured seconds per handler per round */
    'round-s': { type: 'string', default: '1.5' },
    out: { type: 'string', default: join(ROOT, '.esbuild-profile') },
    'no-build': { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const IDLE_MS = 1;
const stack = readStack();
process.env['BENCH_SEND_ONLY_QUEUE_URL'] = stack.sendOnlyQueueUrl;
process.env['LOG_LEVEL'] = 'INFO';
const spec: HandlerSpec = {
  product_id: await newProduct(stack),
  tokens: stack.tokens,
  warmup_s: 2,
  duration_s: Number(values['round-s']),
  in_flight: [1],
};
const outdir = resolve(values.out);
if (!values['no-build']) await bundleFunctions(outdir, ['load/bench/send-only.ts']);
const createOrder: Handler = (await import(join(outdir, 'functions/createOrder.mjs'))).handler;
const sendOnly: Handler = (await import(join(outdir, 'load/bench/send-only.mjs'))).handler;
const afterIdle =
  (fn: Handler): Handler =>
  async (e, c) => {
    await sleep(IDLE_MS);
    return fn(e, c);
  };
const handlers: Record<string, Handler> = {
  createOrder,
  sendOnly,
  'sendOnly after 1 ms idle': afterIdle(sendOnly),
};

const cpuPerInvocation_ms: Record<string, number[]> = Object.fromEntries(
  Object.keys(handlers).map((name) => [name, []]),
);
for (const fn of Object.values(handlers)) await drive(acc('sendOnly', 10), fn, spec, spec.warmup_s);
for (let r = 0; r < rounds; r++) {
  for (const [name, fn] of Object.entries(handlers)) {
    const a = acc('sendOnly', 1); // the accumulator's own label is not used here
    await drive(a, fn, spec, spec.duration_s);
    const run = summary(a);
    if (run.status['202'] !== run.invocations) throw new Error(`${name}: ${JSON.stringify(run.status)}`);
    cpuPerInvocation_ms[name]!.push(run.cpu_ms_per_invocation);
  }
  process.stderr.write(`round ${r + 1}/${rounds}\n`);
}

const perRound = (a: string, b: string) =>
  cpuPerInvocation_ms[a]!.map((x, i) => x / cpuPerInvocation_ms[b]![i]!);
const fmt = (xs: number[]) =>
  `median ${median(xs).toFixed(2)}× (rounds ${xs.map((x) => x.toFixed(2)).join(' ')})`;
console.error('\nPart 1: CPU per invocation at 1 in flight, median of the rounds');
for (const [name, xs] of Object.entries(cpuPerInvocation_ms))
  console.error(`  ${name.padEnd(26)} ${median(xs).toFixed(3)} ms`);
console.error(
  `  sendOnly after idle / sendOnly:    ${fmt(perRound('sendOnly after 1 ms idle', 'sendOnly'))}`,
);
console.error(`  createOrder / sendOnly:            ${fmt(perRound('createOrder', 'sendOnly'))}`);
console.error(
  `  createOrder / sendOnly after idle: ${fmt(perRound('createOrder', 'sendOnly after 1 ms idle'))}`,
);

// Part 2: the same synchronous code, no I/O, with and without an idle millisecond before it.
const { logger } = await import('../../lib/platform/logger');
const line = () =>
  logger.info('request', {
    method: 'POST',
    path: '/api/orders',
    status: 202,
    duration_ms: 1.23,
    request_id: 'probe-request',
    correlation_id: '42-01JPROBE',
  });
const code: Record<string, () => void> = { 'Powertools access line': line, 'empty function': () => {} };
const CALLS = 2000;
console.error(`\nPart 2: CPU per call of synchronous code (${CALLS} calls each, median of ${rounds} rounds)`);
for (const [name, fn] of Object.entries(code)) {
  const cost_us = { 'back to back': [] as number[], 'after 1 ms idle': [] as number[] };
  for (let r = 0; r < rounds; r++) {
    for (const [mode, xs] of Object.entries(cost_us)) {
      let cpu_us = 0;
      for (let i = 0; i < CALLS; i++) {
        if (mode === 'after 1 ms idle') await sleep(IDLE_MS);
        else await null; // one microtask turn, as the idle path has
        const c0 = process.cpuUsage();
        fn();
        const c = process.cpuUsage(c0);
        cpu_us += c.user + c.system;
      }
      xs.push(cpu_us / CALLS);
    }
  }
  for (const [mode, xs] of Object.entries(cost_us))
    console.error(`  ${name.padEnd(24)} ${mode.padEnd(16)} ${median(xs).toFixed(1)} µs`);
}
process.exit(0); // the warm clients would keep the process alive
