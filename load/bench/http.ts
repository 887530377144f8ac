// HTTP scenarios: each measured run is one load-generator process (load/bench/http-load.ts); runs
// of a scenario are added up here (requests, time, status codes, CPU per process, and the merged
// HDR histogram of every response time) and summarised once all rounds are done.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { type CpuGroup, cpuBetween, sampleCpu } from './cpu';
import type { LoadResult, LoadSpec } from './http-load';
import type { InvariantReport } from './invariants';
import { runWrk } from './wrk';

const ROOT = join(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
export const round2 = (n: number) => Math.round(n * 100) / 100;
export const round3 = (n: number) => Math.round(n * 1000) / 1000;

export interface HttpParams {
  connections: number;
  rounds: number;
}

export type Generator = 'autocannon' | 'wrk';

/** Processes that serve a request (as opposed to the load generator and the harness). */
const SERVER_GROUPS = [
  'serverless-offline (product)',
  'serverless-offline (bench fns)',
  'fauxqs',
  'redis',
  'postgres',
];

export interface ScenarioResult {
  name: string;
  params: Record<string, unknown>;
  result: LoadResult;
  loadavg_1m_before: number;
  loadavg_1m_per_round?: number[];
  cpu_ms_per_request: Record<string, number>;
  /**
   * CPU over the measured time as a share of the whole machine (all cores): the load generator
   * against the processes that serve the requests. A generator with a large share flattens ratios.
   */
  cpu_share: { load_generator: number; server: number; cores: number };
  /** wrk only: requests written whose answer wrk did not wait for when its time was up */
  unanswered: number;
  invariant?: InvariantReport;
}

const HIST: hdr.BuildRequest = {
  lowestDiscernibleValue: 1,
  highestTrackableValue: 120_000_000,
  numberOfSignificantValueDigits: 3,
};

export interface HttpScenario {
  name: string;
  generator: Generator;
  url: string;
  req: Req;
  warm?: Req;
  fsync?: 'everysec';
}

interface HttpAcc {
  hist: hdr.Histogram;
  requests: number;
  duration_s: number;
  status: Record<string, number>;
  errors: number;
  timeouts: number;
  cpu_ms: Record<string, number>;
  loadavg: number[];
  unanswered: number;
}

export const newHttpAcc = (): HttpAcc => ({
  hist: hdr.build(HIST),
  requests: 0,
  duration_s: 0,
  status: {},
  errors: 0,
  timeouts: 0,
  cpu_ms: {},
  loadavg: [],
  unanswered: 0,
});

/**
 * One measured run added to the accumulator: autocannon sends a fixed `amount` of requests, wrk
 * runs for the time autocannon's warm-up rate says that amount takes (`duration_s`).
 */
export async function measureInto(
  a: HttpAcc,
  sc: HttpScenario,
  amount: { requests: number; duration_s: number; tokens_file: string },
  cpuGroups: Record<string, CpuGroup>,
  p: HttpParams,
): Promise<void> {
  a.loadavg.push(round2(loadavg()[0]!));
  const cpu0 = sampleCpu(cpuGroups);
  const harness0 = process.cpuUsage();
  const r =
    sc.generator === 'wrk'
      ? await runWrk({
          url: sc.url,
          connections: p.connections,
          threads: 2,
          duration_s: amount.duration_s,
          method: sc.req.method,
          path: sc.req.path,
          ...(sc.req.body ? { body: sc.req.body } : {}),
          ...(sc.req.tokens?.length ? { tokens_file: amount.tokens_file } : {}),
        })
      : await load({ url: sc.url, requests: sc.req, amount: amount.requests }, p);
  if ('sent' in r) a.unanswered += (r.sent as number) - r.requests;
  const cpu1 = sampleCpu(cpuGroups);
  const harness = process.cpuUsage(harness0);
  a.hist.add(hdr.decodeFromCompressedBase64(r.hist));
  a.requests += r.requests;
  a.duration_s += r.duration_s;
  a.errors += r.errors;
  a.timeouts += r.timeouts;
  for (const [code, n] of Object.entries(r.status)) a.status[code] = (a.status[code] ?? 0) + n;
  const add = (k: string, ms: number) => {
    a.cpu_ms[k] = (a.cpu_ms[k] ?? 0) + ms;
  };
  for (const [k, v] of Object.entries(cpuBetween(cpu0, cpu1))) add(k, v);
  add('load_generator', r.cpu_ms);
  add('harness_and_trigger', (harness.user + harness.system) / 1000);
}

/** p50/p90/p99/p99.9/max/mean of an HDR histogram recorded in µs, in ms rounded to `decimals`. */
export function latencyMs(h: hdr.Histogram, decimals: number) {
  const f = 10 ** decimals;
  // (us * f) / 1000, one inexact step: us / 1000 * f has two (1005 µs came out 1.00 ms, not 1.01).
  const ms = (us: number) => Math.round((us * f) / 1000) / f;
  return {
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p99_9: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

export function summarize(
  sc: HttpScenario,
  a: HttpAcc,
  amount_per_round: number | string,
  p: HttpParams,
): ScenarioResult {
  const result: LoadResult = {
    requests: a.requests,
    duration_s: round2(a.duration_s),
    rps: a.requests / a.duration_s,
    latency_ms: latencyMs(a.hist, 2),
    status: a.status,
    errors: a.errors,
    timeouts: a.timeouts,
    cpu_ms: a.cpu_ms['load_generator'] ?? 0,
    hist: hdr.encodeIntoCompressedBase64(a.hist),
  };
  const cpu: Record<string, number> = {};
  for (const [k, v] of Object.entries(a.cpu_ms)) cpu[k] = round3(v / Math.max(1, a.requests));
  // What the machine spent beyond the processes of this bench: anything else running on it.
  const ours = Object.entries(a.cpu_ms).reduce((n, [k, v]) => (k === 'machine' ? n : n + v), 0);
  cpu['other_processes'] = round3(Math.max(0, (a.cpu_ms['machine'] ?? 0) - ours) / Math.max(1, a.requests));
  const capacity_ms = a.duration_s * 1000 * cpus().length;
  const server_ms = SERVER_GROUPS.reduce((n, k) => n + (a.cpu_ms[k] ?? 0), 0);
  return {
    name: sc.name,
    params: {
      generator: sc.generator,
      method: sc.req.method,
      path: sc.req.path,
      body: sc.req.body,
      buyers: sc.req.tokens?.length ?? 0,
      connections: p.connections,
      rounds: p.rounds,
      requests_per_round: amount_per_round,
      consumer: 'paused',
      ...(sc.fsync ? { redis_appendfsync: sc.fsync } : {}),
    },
    result,
    loadavg_1m_before: a.loadavg[0] ?? 0,
    loadavg_1m_per_round: a.loadavg,
    cpu_ms_per_request: cpu,
    cpu_share: {
      load_generator: round3((a.cpu_ms['load_generator'] ?? 0) / capacity_ms),
      server: round3(server_ms / capacity_ms),
      cores: cpus().length,
    },
    unanswered: a.unanswered,
  };
}

let loadSeq = 0;
export type Req = Pick<LoadSpec, 'method' | 'path' | 'body' | 'tokens'>;

export async function load(
  o: { url: string; requests: Req; duration_s?: number; amount?: number },
  p: Pick<HttpParams, 'connections'>,
): Promise<LoadResult> {
  const dir = join(tmpdir(), 'flash-sale-bench-load');
  mkdirSync(dir, { recursive: true });
  const n = loadSeq++;
  const spec = join(dir, `spec-${process.pid}-${n}.json`);
  const out = join(dir, `out-${process.pid}-${n}.json`);
  writeFileSync(
    spec,
    JSON.stringify({
      url: o.url,
      connections: p.connections,
      duration_s: o.duration_s ?? 0,
      amount: o.amount,
      ...o.requests,
    } satisfies LoadSpec),
  );
  await child([TSX, join(ROOT, 'load/bench/http-load.ts'), spec, out]);
  const r = JSON.parse(readFileSync(out, 'utf8')) as LoadResult;
  rmSync(spec, { force: true });
  rmSync(out, { force: true });
  return r;
}

export function child(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; logFile?: string } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : null;
    const c = spawn(process.execPath, args, {
      cwd: ROOT,
      env: opts.env ?? process.env,
      stdio: ['ignore', log ? 'pipe' : 'ignore', 'pipe'],
    });
    if (log) c.stdout?.pipe(log);
    let err = '';
    c.stderr?.on('data', (d) => {
      err += String(d);
    });
    c.on('exit', (code) => {
      log?.end();
      if (code === 0) resolve();
      else reject(new Error(`${args[1]} exited ${code}: ${err.slice(-2000)}`));
    });
  });
}
