import { readFileSync, writeFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as hdr from 'hdr-histogram-js';
import { lambdaContext } from '../../infra/local/lambda-event';
import { startProfile, stopProfile } from '../profile/common';
import { orderEvent } from './events';
import { latencyMs } from './http';

export interface HandlerSpec {
  product_id: number;
  tokens: string[];
  warmup_s: number;
  duration_s: number;
  in_flight: number[];
  /** after the measured rounds, a CPU profile of createOrder at 1 in flight (its figures are not used) */
  profile?: { file: string; seconds: number };
}

export interface HandlerRun {
  handler: 'createOrder' | 'sendOnly';
  in_flight: number;
  invocations: number;
  duration_s: number;
  per_s: number;
  duration_ms: { p50: number; p90: number; p99: number; p99_9: number; max: number; mean: number };
  billed_ms: { p50: number; p99: number; mean: number };
  cpu_ms_per_invocation: number;
  status: Record<string, number>;
}

export interface HandlerLevelResult {
  runs: HandlerRun[];
  create_order_accepted: number;
  /** the profiled round, when there was one */
  profiled?: { seconds: number; invocations: number };
}

const ROUNDS = 4;

export type Handler = (e: APIGatewayProxyEventV2, c: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface Acc {
  name: HandlerRun['handler'];
  in_flight: number;
  hist: hdr.Histogram;
  billed: hdr.Histogram;
  status: Record<string, number>;
  elapsed_s: number;
  cpu_us: number;
}

export function acc(name: HandlerRun['handler'], in_flight: number): Acc {
  return {
    name,
    in_flight,
    hist: hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 60_000_000,
      numberOfSignificantValueDigits: 3,
    }),
    billed: hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 60_000,
      numberOfSignificantValueDigits: 3,
    }),
    status: {},
    elapsed_s: 0,
    cpu_us: 0,
  };
}

/** `in_flight` concurrent invocation loops for `duration_s`, added to the accumulator. */
export async function drive(a: Acc, fn: Handler, spec: HandlerSpec, duration_s: number): Promise<void> {
  const ctx = lambdaContext(a.name);
  const deadline = performance.now() + duration_s * 1000;
  let n = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: a.in_flight }, async () => {
      while (performance.now() < deadline) {
        const e = orderEvent(spec.tokens[n++ % spec.tokens.length]!, spec.product_id);
        const s = performance.now();
        const r = await fn(e, ctx);
        const us = Math.max(1, Math.round((performance.now() - s) * 1000));
        a.hist.recordValue(us);
        a.billed.recordValue(Math.ceil(us / 1000)); // Lambda bills in 1 ms steps, rounded up
        const code = String(r.statusCode);
        a.status[code] = (a.status[code] ?? 0) + 1;
      }
    }),
  );
  a.elapsed_s += (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  a.cpu_us += cpu.user + cpu.system;
}

export function summary(a: Acc): HandlerRun {
  const invocations = a.hist.totalCount;
  const _ms = (us: number) => Math.round(us) / 1000;
  return {
    handler: a.name,
    in_flight: a.in_flight,
    invocations,
    duration_s: a.elapsed_s,
    per_s: invocations / a.elapsed_s,
    duration_ms: latencyMs(a.hist, 3),
    billed_ms: {
      p50: a.billed.getValueAtPercentile(50),
      p99: a.billed.getValueAtPercentile(99),
      mean: Math.round(a.billed.mean * 100) / 100,
    },
    cpu_ms_per_invocation: a.cpu_us / 1000 / Math.max(1, invocations),
    status: a.status,
  };
}

async function main(): Promise<void> {
  const [specFile, outFile] = process.argv.slice(2);
  if (!specFile || !outFile) throw new Error('usage: handler-level.ts SPEC.json OUT.json');
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as HandlerSpec;
  // Imported after the environment is in place: modules build their clients from it on first use.
  const createOrder = (await import('../../functions/createOrder')).handler as unknown as Handler;
  const sendOnly = (await import('./send-only')).handler as unknown as Handler;
  const runs: HandlerRun[] = [];
  // Warm both "containers" (connections, JIT, token cache) before anything is measured.
  const warm = acc('createOrder', 10);
  await drive(warm, createOrder, spec, spec.warmup_s);
  await drive(acc('sendOnly', 10), sendOnly, spec, spec.warmup_s);
  // The two handlers take turns in short rounds, so a neighbour's load on the machine falls on
  // both alike instead of on whichever happened to run at the time.
  for (const c of spec.in_flight) {
    const a = acc('createOrder', c);
    const b = acc('sendOnly', c);
    for (let i = 0; i < ROUNDS; i++) {
      await drive(a, createOrder, spec, spec.duration_s / ROUNDS);
      await drive(b, sendOnly, spec, spec.duration_s / ROUNDS);
    }
    runs.push(summary(a), summary(b));
  }
  const profiled = spec.profile ? await profileRound(createOrder, spec, spec.profile) : null;
  // Every 202 of createOrder (warm-up and profile included) took one unit: the harness checks that
  // against Redis.
  const accepted = [
    summary(warm),
    ...runs.filter((r) => r.handler === 'createOrder'),
    ...(profiled ? [profiled] : []),
  ].reduce((n, r) => n + (r.status['202'] ?? 0), 0);
  const result: HandlerLevelResult = {
    runs,
    create_order_accepted: accepted,
    ...(profiled ? { profiled: { seconds: profiled.duration_s, invocations: profiled.invocations } } : {}),
  };
  writeFileSync(outFile, JSON.stringify(result));
  process.exit(0); // the warm clients would keep the process alive
}

/**
 * createOrder at 1 in flight under the sampling profiler (node:inspector, 100 µs), after the
 * measured rounds so the profiler's cost is in none of the figures; the report draws the flame graph.
 */
async function profileRound(
  createOrder: Handler,
  spec: HandlerSpec,
  profile: NonNullable<HandlerSpec['profile']>,
): Promise<HandlerRun> {
  const a = acc('createOrder', 1);
  const session = await startProfile();
  await drive(a, createOrder, spec, profile.seconds);
  await stopProfile(session, profile.file);
  return summary(a);
}

// Also imported for its loop by load/profile/cpu.ts (the same invocations under a profiler).
if (import.meta.main) {
  main().catch((err) => {
    process.stderr.write(`handler-level failed: ${(err as Error).stack}\n`);
    process.exit(1);
  });
}
