// The HTTP scenarios' second generator: wrk (C, LuaJIT), outside Node, with load/bench/wrk-orders.lua
// rotating the buyer tokens. Its CPU is read from /proc: a shell starts wrk, waits for it, and
// prints its own /proc/<pid>/stat, whose cutime+cstime are then exactly wrk's user+system time.
// wrk runs for a duration, not a request count: requests still in flight when it stops may have
// been served without wrk seeing the answer, so `sent - requests` is reported (outcome unknown).
import { join } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { capture } from './ab';
import { latencyMs } from './http';
import type { LoadResult } from './http-load';

const SCRIPT = join(import.meta.dirname, 'wrk-orders.lua');
const TICK_MS = 10; // USER_HZ is 100 on Linux

export interface WrkSpec {
  url: string;
  connections: number;
  threads: number;
  duration_s: number;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  tokens_file?: string;
}

export interface WrkResult extends LoadResult {
  /** requests wrk wrote, answered or not */
  sent: number;
}

interface WrkJson {
  requests: number;
  duration_us: number;
  sent: number;
  status: Record<string, number>;
  errors: { connect: number; read: number; write: number; timeout: number };
  latency_us: [number, number][];
}

export async function runWrk(s: WrkSpec): Promise<WrkResult> {
  const wrkArgs = [
    '-t', String(s.threads), '-c', String(s.connections), '-d', `${Math.max(1, Math.round(s.duration_s))}s`,
    '--timeout', '10s', '-s', SCRIPT, `${s.url}${s.path}`,
    '--', s.method, s.path, s.tokens_file ?? '-', ...(s.body ? [s.body] : []),
  ]; // biome-ignore format: flag/value pairs
  const sh = 'wrk "$@"; rc=$?; cat /proc/$$/stat >&2; exit $rc';
  const r = await capture('sh', ['-c', sh, 'sh', ...wrkArgs]);
  const line = r.stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
  // Never a figure that was not measured: a wrk that failed or printed no result stops the bench.
  if (r.status !== 0 || !line)
    throw new Error(
      `wrk ${wrkArgs.slice(0, 6).join(' ')} exited ${r.status}: ${r.stdout.trim()}\n${r.stderr.trim()}`,
    );
  const j = JSON.parse(line.slice('WRK_JSON '.length)) as WrkJson;
  const errs = j.errors.connect + j.errors.read + j.errors.write;
  if (errs > 0) throw new Error(`wrk: ${errs} socket errors (${JSON.stringify(j.errors)}): ${r.stdout}`);
  const hist = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
  for (const [us, n] of j.latency_us) hist.recordValueWithCount(Math.max(1, us), n);
  const duration_s = j.duration_us / 1e6;
  return {
    requests: j.requests,
    sent: j.sent,
    duration_s,
    rps: j.requests / duration_s,
    latency_ms: latencyMs(hist, 2),
    status: j.status,
    errors: errs,
    timeouts: j.errors.timeout,
    cpu_ms: childCpuMs(r.stderr),
    hist: hdr.encodeIntoCompressedBase64(hist),
  };
}

/** cutime + cstime (fields 16 and 17) of the shell's /proc/<pid>/stat line: its waited children. */
export function childCpuMs(stderr: string): number {
  const line = stderr.trim().split('\n').at(-1) ?? '';
  const f = line.slice(line.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[13]) + Number(f[14]);
  if (!Number.isFinite(ticks)) throw new Error(`wrk: no /proc stat line to read its CPU from: ${stderr}`);
  return ticks * TICK_MS;
}
