// `npm run chaos -- <fault…|all>`: brings up a throwaway local stack, runs load plus each chosen
// fault, checks the history and the audit, and prints one row per fault. Exit 1 if any failed.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Argument, Command } from 'commander';
import { integer } from '../../bin/options';
import { freePort } from '../local/procs';
import { removeDataDir } from '../local/services/postgres';
import { startStack } from '../local/stack';
import { FAULTS } from './faults';
import { type ChaosReport, printReports, runChaos } from './run';

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
      const say = (m: string) => console.log(`[chaos] ${m}`);
      const reports: ChaosReport[] = [];
      // a start that fails stops what it started, so the folders go in every case
      try {
        const stack = await startStack({
          port: await freePort(),
          dataDir,
          serve: true,
          seed: false,
          say,
          env: { LOG_LEVEL: 'ERROR', RATE_LIMIT_CUSTOMER_RPS: '0', REDIS_KEY_PREFIX: 'chaos' },
          queueOverrides: { visibility_timeout_s: 5 },
        });
        try {
          for (const f of faults) {
            reports.push(
              await runChaos(
                stack,
                f,
                {
                  duration_ms: o.duration * 1000,
                  concurrency: o.concurrency,
                  stock_total: o.stock,
                  settle_timeout_ms: 90_000,
                },
                say,
              ),
            );
          }
        } finally {
          await stack.stop();
        }
      } finally {
        removeDataDir(dataDir);
      }
      printReports(reports);
      if (o.json) (await import('node:fs')).writeFileSync(o.json, JSON.stringify(reports, null, 2));
      process.exitCode = reports.every((r) => r.ok) ? 0 : 1;
    },
  );

await program.parseAsync();
process.exit(process.exitCode ?? 0);
