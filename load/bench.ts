// `npm run bench`: brings up its own local stack (own ports and DATA_DIR, nothing seeded) plus a
// second serverless-offline instance with the bench-only functions (load/bench/serverless.bench.yml),
// runs the selected scenarios (load/bench/scenarios/, `--list`), checks the invariants after each
// write scenario, prints the tables and writes load/reports/latest.{json,md,svg}.
//   npm run bench                          every scenario (<= 15 minutes)
//   npm run bench -- --quick               every scenario, shorter (<= 5 minutes)
//   npm run bench -- --only http,drain     some scenarios
// Environment: BENCH_SECONDS, BENCH_DRAIN_ORDERS, LOG_LEVEL (default INFO), KEEP_BENCH_DATA=1.
// load/README.md explains the figures.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { basePort } from '../infra/local/procs';
import { ROOT, type Stack, startStack } from '../infra/local/stack';
import { ensureCommands } from '../infra/local/tools';
import queues from '../infra/queues.json' with { type: 'json' };
import { resetConfig } from '../lib/config';
import { type BenchContext, openContext } from './bench/context';
import { machineInfo } from './bench/machine';
import { writeReports } from './bench/output';
import { benchParams } from './bench/params';
import type { Results } from './bench/scenario';
import { SCENARIOS } from './bench/scenarios';

const t_start = Date.now();
const elapsed = () => `${((Date.now() - t_start) / 1000).toFixed(0)}s`;
const say = (m: string) => process.stdout.write(`[bench ${elapsed().padStart(4)}] ${m}\n`);

const cli = new Command('bench')
  .description('measure the request path, the consumer and the bundles on this machine')
  .option('--only <names>', `comma-separated scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`)
  .option('--quick', 'shorter runs (<= 5 minutes for every scenario)', false)
  .option('--list', 'list the scenarios and what each measures, then exit', false);

async function main(): Promise<void> {
  const opts = cli.parse().opts<{ only?: string; quick: boolean; list: boolean }>();
  if (opts.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(12)} ${s.measures}\n`);
    return;
  }
  const selected = select(opts.only);
  const P = benchParams(opts.quick);
  // Every figure is measured or the bench stops: the load tools are installed like Redis is.
  ensureCommands({ ab: 'apache2-utils', wrk: 'wrk' }, say);
  const machine = machineInfo(ROOT);
  say(
    `${machine.cpu_model} x${machine.cpus}, Node ${machine.node}, load average ${machine.loadavg_1m_at_start}`,
  );
  say(`scenarios: ${selected.map((s) => s.name).join(', ')}${P.quick ? ' (quick)' : ''}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'flash-sale-bench-'));
  chmodSync(dataDir, 0o755); // PostgreSQL runs as the postgres user and must reach its folder
  const port = await basePort();
  process.env['LOG_LEVEL'] = P.log_level;
  let stack: Stack | undefined;
  let close: (() => Promise<void>) | undefined;
  const cleanUp = async () => {
    await close?.();
    await stack?.stop();
    if (!process.env['KEEP_BENCH_DATA']) rmSync(dataDir, { recursive: true, force: true });
  };
  onInterrupt = cleanUp;
  try {
    stack = await startStack({
      port,
      dataDir,
      serve: true,
      seed: false,
      // Per-customer and per-IP limits off, as for the reference's `ab` run (one token, one IP).
      env: {
        REDIS_KEY_PREFIX: 'fsb',
        LOG_LEVEL: P.log_level,
        RATE_LIMIT_CUSTOMER_RPS: '0',
        RATE_LIMIT_IP_RPS: '0',
      },
      say: (m) => say(`  ${m}`),
    });
    Object.assign(process.env, stack.env);
    resetConfig();
    const opened = await openContext({
      P,
      stack,
      dataDir,
      machine,
      benchPort: await basePort(port + 20),
      say,
    });
    close = opened.close;
    await runAll(opened.ctx, selected);
  } finally {
    onInterrupt = null;
    await cleanUp();
  }
  say(`done in ${elapsed()}`);
  process.exit(process.exitCode ?? 0); // nothing of ours is left running; do not wait for stray sockets
}

function select(only: string | undefined) {
  if (!only) return SCENARIOS;
  const names = only.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  // a usage error: commander's one line and exit 1, before anything is started
  if (unknown.length)
    cli.error(
      `error: unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  return SCENARIOS.filter((s) => names.includes(s.name));
}

async function runAll(ctx: BenchContext, selected: typeof SCENARIOS): Promise<void> {
  const results: Results = {};
  // A scenario that fails stops the bench: no report is written from figures not measured.
  for (const s of selected) await s.run(ctx, results);
  const { text, ok, files } = writeReports({
    dir: join(ROOT, 'load/reports'),
    results,
    machine: ctx.machine,
    scenarios: selected.map((s) => s.name),
    // A quick run's figures are shorter measurements: never the committed latest.* either.
    partial: selected.length < SCENARIOS.length || ctx.P.quick,
    header: {
      duration_s: (Date.now() - t_start) / 1000,
      machine: { ...ctx.machine, loadavg_1m_at_end: Math.round(loadavg()[0]! * 100) / 100 },
      parameters: {
        ...ctx.P,
        serverless_offline:
          'in-process (useInProcess: true), esbuild bundles, one warm container per function',
        redis_appendfsync: 'always (everysec only for the durability row)',
        queue: queues,
        load_generators:
          'autocannon (Node, own process, HDR histogram) and wrk (C, load/bench/wrk-orders.lua); keep-alive connections',
      },
    },
  });
  process.stdout.write(text);
  say(`reports in load/reports: ${files}`);
  if (!ok) {
    say('AN INVARIANT CHECK FAILED: see the table above and the JSON report');
    process.exitCode = 1;
  }
}

// Ctrl-C: the stack stopped and its data folder removed, as at the end of a run; then exit, whose
// hook (infra/local/procs.ts) kills any child still running. A second signal exits at once.
let onInterrupt: (() => Promise<void>) | null = null;
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted || !onInterrupt) process.exit(130);
    interrupted = true;
    say(`${sig}: stopping the bench's stack and removing its data folder`);
    onInterrupt()
      .catch((err: Error) => say(`clean-up after ${sig} failed: ${err.message}`))
      .finally(() => process.exit(130));
  });
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
