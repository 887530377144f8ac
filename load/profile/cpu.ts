// CPU per invocation, in-process, of the bundled createOrder against the bundled send-only handler
// (load/profile/send-only.ts), N in flight, alternating rounds so a busy machine falls on both alike.
//   npx tsx load/profile/cpu.ts [outdir] [--in-flight 1] [--rounds 4] [--n 2000] [--only createOrder]
// With --profile FILE --only createOrder it is the profile harness (flame graph: load/profile/flame.ts).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleFunctions, ROOT } from './bundle';
import { lambdaContext, newProduct, orderEvent, readStack } from './common';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'in-flight': { type: 'string', default: '1' },
    rounds: { type: 'string', default: '4' },
    n: { type: 'string', default: '2000' },
    only: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    /** write a .cpuprofile of the measured rounds only (node:inspector, 100 µs sampling) */
    profile: { type: 'string' },
  },
});
const outdir = resolve(positionals[0] ?? join(ROOT, '.esbuild-profile'));
const in_flight = Number(values['in-flight']);
const stack = readStack();
process.env['PROFILE_SEND_ONLY_QUEUE_URL'] = stack.sendOnlyQueueUrl;
process.env['LOG_LEVEL'] = process.env['PROFILE_LOG_LEVEL'] ?? 'INFO'; // deployed: one access line
const product_id = await newProduct(stack);
if (!values['no-build']) await bundleFunctions(outdir, ['load/profile/send-only.ts']);

type H = (e: unknown, c: unknown) => Promise<{ statusCode: number; body?: string }>;
const handlers: Record<string, H> = {
  createOrder: (await import(join(outdir, 'functions/createOrder.mjs'))).handler,
  sendOnly: (await import(join(outdir, 'load/profile/send-only.mjs'))).handler,
};
const names = values.only ? [values.only] : Object.keys(handlers);

// Stdout carries the access lines (as Lambda's would): sent to /dev/null by the caller, still written.
async function round(name: string, n: number): Promise<{ cpu_ms: number; wall_ms: number }> {
  const fn = handlers[name]!;
  const ctx = lambdaContext(name);
  let i = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: in_flight }, async () => {
      while (i < n) {
        const k = i++;
        const r = await fn(orderEvent(stack.tokens[k % stack.tokens.length]!, product_id), ctx);
        if (r.statusCode !== 202) throw new Error(`${name}: ${r.statusCode} ${r.body}`);
      }
    }),
  );
  const d = process.cpuUsage(c0);
  return { cpu_ms: (d.user + d.system) / 1000, wall_ms: performance.now() - t0 };
}

const n = Number(values.n);
for (const name of names) await round(name, 300); // warm: JIT, sockets, token cache
const session = values.profile ? await startProfile() : null;
const total: Record<string, { cpu_ms: number; wall_ms: number; n: number }> = {};
for (let r = 0; r < Number(values.rounds); r++) {
  for (const name of names) {
    const x = await round(name, n);
    total[name] ??= { cpu_ms: 0, wall_ms: 0, n: 0 };
    const t = total[name];
    t.cpu_ms += x.cpu_ms;
    t.wall_ms += x.wall_ms;
    t.n += n;
  }
}
if (session) await stopProfile(session, values.profile!);
const per = (name: string) => total[name]!.cpu_ms / total[name]!.n;
for (const name of names)
  console.error(
    `${name.padEnd(12)} ${in_flight} in flight: ${per(name).toFixed(3)} ms CPU/inv, ${(total[name]!.wall_ms / total[name]!.n).toFixed(3)} ms wall/inv (${total[name]!.n} inv)`,
  );
if (names.length === 2)
  console.error(`createOrder / sendOnly CPU: ${(per('createOrder') / per('sendOnly')).toFixed(2)}x`);

async function startProfile(): Promise<Session> {
  const s = new Session();
  s.connect();
  await s.post('Profiler.enable');
  await s.post('Profiler.setSamplingInterval', { interval: 100 });
  await s.post('Profiler.start');
  return s;
}

async function stopProfile(s: Session, file: string): Promise<void> {
  const { profile } = await s.post('Profiler.stop');
  writeFileSync(file, JSON.stringify(profile));
  s.disconnect();
}

process.exit(0);
