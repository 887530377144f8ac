// `npm run chaos -- <fault…|all>`: brings up a throwaway local stack, runs load plus each chosen
// fault, checks the history and the audit, and prints one row per fault. Exit 1 if any failed.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Argument, Command } from 'commander';
import { integer } from '../../bin/options';
import { basePort } from '../local/procs';
import { removeDataDir } from '../local/services/postgres';
import { type Stack, startStack } from '../local/stack';
import { FAULTS } from './faults';
import { type ChaosReport, printReports, runChaos } from './run';

const say = (m: string) => console.log(`[chaos] ${m}`);

const program = new Command('chaos')
  .addArgument(
    // an unknown name is commander's one-line error, listing the known ones, before any stack starts
    new Argument('[faults...]', 'faults to inject, or all')
      .choices([...Object.keys(FAULTS), 'all'])
      .default(['all']),
  )
  .option('--duration <s>', 'load duration per fault, seconds', integer(1), 12)
  .option('--concurrency <n>', 'concurrent virtual buyers', integer(1), 24)
  .option('--stock <units>', 'stock of the product under load', integer(1), 3000)
  .option('--json <file>', 'also write the reports as JSON')
  .action(
    async (names: string[], o: { duration: number; concurrency: number; stock: number; json?: string }) => {
      const faults = names.includes('all') ? Object.keys(FAULTS) : names;
      const dataDir = mkdtempSync(join(tmpdir(), 'flash-sale-chaos-'));
      const reports: ChaosReport[] = [];
      let stack: Stack | undefined;
      // the folders go in every case: a start that fails stops what it started, Ctrl-C stops the rest;
      // once only, whether the run's end or a signal asks first
      let cleaning: Promise<void> | undefined;
      const cleanUp = () =>
        (cleaning ??= (async () => {
          await stack?.stop();
          removeDataDir(dataDir);
        })());
      onInterrupt = cleanUp;
      try {
        stack = await startStack({
          port: await basePort(),
          dataDir,
          serve: true,
          seed: false,
          say,
          env: { LOG_LEVEL: 'ERROR', RATE_LIMIT_CUSTOMER_RPS: '0', REDIS_KEY_PREFIX: 'chaos' },
          queueOverrides: { visibility_timeout_s: 5 },
        });
        for (const f of faults) reports.push(await runChaos(stack, f, chaosOpts(o), say));
      } finally {
        await cleanUp();
        onInterrupt = null;
        // a fault run that failed because the signal stopped its stack is not this run's outcome
        if (interrupted) process.exit(130);
      }
      printReports(reports);
      if (o.json) (await import('node:fs')).writeFileSync(o.json, JSON.stringify(reports, null, 2));
      process.exitCode = reports.every((r) => r.ok) ? 0 : 1;
    },
  );

function chaosOpts(o: { duration: number; concurrency: number; stock: number }) {
  return {
    duration_ms: o.duration * 1000,
    concurrency: o.concurrency,
    stock_total: o.stock,
    settle_timeout_ms: 90_000,
  };
}

// Ctrl-C or SIGTERM: the stack stopped and its folders removed, as at the end of a run (and as
// `npm run bench` does); then exit, whose hook (infra/local/procs.ts) kills any child still running,
// one a fault restarted meanwhile included. A second signal exits at once.
let onInterrupt: (() => Promise<void>) | null = null;
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted || !onInterrupt) process.exit(130);
    interrupted = true;
    say(`${sig}: stopping the chaos stack and removing its data folders`);
    onInterrupt()
      .catch((err: Error) => say(`clean-up after ${sig} failed: ${err.message}`))
      .finally(() => process.exit(130));
  });
}

await program.parseAsync();
process.exit(process.exitCode ?? 0);
