// `npm run ops -- <command> --stage NAME [--dry-run]`: the runbook's AWS-calling steps that are not
// a deploy (README, "Runbook"). Each one is a Serverless Framework (osls) call made with the
// operator's own AWS credentials; `--dry-run` prints the exact call instead and touches nothing.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { integer } from './options';

const ROOT = resolve(import.meta.dirname, '..');
const SLS = join(ROOT, 'node_modules', '.bin', 'sls');

interface StageOpts {
  stage: string;
  region?: string;
  dryRun?: boolean;
}

/** Runs (or, with --dry-run, prints) one sls call; exits with its status. */
function sls(args: string[], o: StageOpts): void {
  const full = [...args, '--stage', o.stage, ...(o.region ? ['--region', o.region] : [])];
  const line = `sls ${full.join(' ')}`;
  if (o.dryRun) {
    console.log(`dry run, would call AWS: ${line}`);
    return;
  }
  console.error(`> ${line}`);
  const r = spawnSync(SLS, full, { cwd: ROOT, stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
}

const program = new Command('ops').description('runbook steps that call AWS (see README, "Runbook")');

const stageCommand = (name: string, description: string) =>
  program
    .command(name)
    .description(description)
    .requiredOption('--stage <name>', 'the stage, e.g. prod')
    .option('--region <region>', 'AWS region (default: serverless.yml / AWS_REGION)')
    .option('--dry-run', 'print the AWS calls instead of making them');

stageCommand('deployments', 'list the stage deployments a rollback can return to (their timestamps)').action(
  (o: StageOpts) => sls(['deploy', 'list'], o),
);

stageCommand('rollback', 'redeploy the functions and stack of an earlier deployment (migrations stay)')
  // epoch milliseconds, as the deployments list shows them; anything else is refused here, not by sls
  .requiredOption('--timestamp <ms>', 'a timestamp from `npm run ops -- deployments`', integer(1))
  .action((o: StageOpts & { timestamp: number }) => sls(['rollback', '--timestamp', String(o.timestamp)], o));

stageCommand('teardown', 'remove the stage stack (functions, API, queues, alarms, dashboard)').action(
  (o: StageOpts) => sls(['remove'], o),
);

stageCommand('outputs', 'print the stage stack outputs (API URL, alarm topic ARN, dashboard)').action(
  (o: StageOpts) => sls(['info', '--verbose'], o),
);

await program.parseAsync();
