// The load generator of every HTTP scenario, run as its own process (one per scenario) so it never
// shares an event loop with the harness or the local SQS trigger. autocannon drives a fixed number
// of keep-alive connections; each request takes the next buyer token of the pool (one counter for
// all connections, so concurrent requests come from different buyers), and latency is recorded in
// an HDR histogram. Usage: tsx load/bench/http-load.ts SPEC.json OUT.json
import { readFileSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';
import { latencyMs } from './http';

export interface LoadSpec {
  url: string;
  connections: number;
  /** a fixed number of requests (every one answered and counted) or, without it, a duration */
  amount?: number;
  duration_s: number;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  /** buyer tokens, used in turn as `Authorization: Bearer <token>` */
  tokens?: string[];
}

export interface LoadResult {
  requests: number;
  duration_s: number;
  rps: number;
  latency_ms: { p50: number; p90: number; p99: number; p99_9: number; max: number; mean: number };
  status: Record<string, number>;
  errors: number;
  timeouts: number;
  /** CPU time of the load generator itself (this process), ms */
  cpu_ms: number;
  /** every response time in µs, an HDR histogram (compressed base64) the harness merges */
  hist: string;
}

async function main(): Promise<void> {
  const [specFile, outFile] = process.argv.slice(2);
  if (!specFile || !outFile) throw new Error('usage: http-load.ts SPEC.json OUT.json');
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as LoadSpec;
  const tokens = spec.tokens ?? [];
  let next = 0;
  const headers: Record<string, string> = spec.body ? { 'content-type': 'application/json' } : {};
  const request: autocannon.Request = {
    method: spec.method,
    path: spec.path,
    headers,
    ...(spec.body ? { body: spec.body } : {}),
    ...(tokens.length
      ? {
          setupRequest: (req: autocannon.Request) => ({
            ...req,
            headers: { ...headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` },
          }),
        }
      : {}),
  };
  const cpu0 = process.cpuUsage();
  const hist = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
  // The run's duration is taken here, from start to the last response: with `amount`, autocannon
  // only notices the end at its next one-second sample tick, so its own duration overstates.
  const t0 = performance.now();
  let t_last = t0;
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const run = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        pipelining: 1,
        ...(spec.amount ? { amount: spec.amount } : { duration: spec.duration_s }),
        requests: [request],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    // responseTime is in ms with sub-ms precision; autocannon's own histogram keeps whole ms
    run.on('response', (_client, _status, _bytes, responseTime: number) => {
      t_last = performance.now();
      hist.recordValue(Math.max(1, Math.round(responseTime * 1000)));
    });
  });
  const cpu = process.cpuUsage(cpu0);
  const status: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {}))
    status[code] = (s as { count: number }).count;
  const total = Object.values(status).reduce((a, b) => a + b, 0);
  const out: LoadResult = {
    requests: total,
    duration_s: (t_last - t0) / 1000,
    rps: total / ((t_last - t0) / 1000),
    latency_ms: latencyMs(hist, 2),
    status,
    errors: r.errors,
    timeouts: r.timeouts,
    cpu_ms: (cpu.user + cpu.system) / 1000,
    hist: hdr.encodeIntoCompressedBase64(hist),
  };
  writeFileSync(outFile, JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(`http-load failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
