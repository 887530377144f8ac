// `npm run chaos -- <fault…|all>`: brings up a throwaway local stack, runs load plus each chosen
// fault, checks the history and the audit, and prints one row per fault. Exit 1 if any failed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { freePort } from '../local/procs';
import { startStack } from '../local/stack';
import { FAULTS } from './faults';
import { type ChaosReport, printReports, runChaos } from './run';

const program = new Command('chaos')
  .argument('[faults...]', `faults to inject: ${Object.keys(FAULTS).join(', ')}, or all`, ['all'])
  .option('--duration <s>', 'load duration per fault, seconds', '12')
  .option('--concurrency <n>', 'concurrent virtual buyers', '24')
  .option('--stock <units>', 'stock of the product under load', '3000')
  .option('--json <file>', 'also write the reports as JSON')
  .action(
    async (names: string[], o: { duration: string; concurrency: string; stock: string; json?: string }) => {
      const faults = names.includes('all') ? Object.keys(FAULTS) : names;
      for (const f of faults) if (!FAULTS[f]) throw new Error(`unknown fault ${f}`);
      const dataDir = mkdtempSync(join(tmpdir(), 'flash-sale-chaos-'));
      const say = (m: string) => console.log(`[chaos] ${m}`);
      const stack = await startStack({
        port: await freePort(),
        dataDir,
        serve: true,
        seed: false,
        say,
        env: { LOG_LEVEL: 'ERROR', RATE_LIMIT_CUSTOMER_RPS: '0', REDIS_KEY_PREFIX: 'chaos' },
        queueOverrides: { visibility_timeout_s: 5 },
      });
      const reports: ChaosReport[] = [];
      try {
        for (const f of faults) {
          reports.push(
            await runChaos(
              stack,
              f,
              {
                duration_ms: Number(o.duration) * 1000,
                concurrency: Number(o.concurrency),
                stock_total: Number(o.stock),
                settle_timeout_ms: 90_000,
              },
              say,
            ),
          );
        }
      } finally {
        await stack.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
      printReports(reports);
      if (o.json) (await import('node:fs')).writeFileSync(o.json, JSON.stringify(reports, null, 2));
      process.exitCode = reports.every((r) => r.ok) ? 0 : 1;
    },
  );

await program.parseAsync();
process.exit(process.exitCode ?? 0);
