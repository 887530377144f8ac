// `npm run deploy -- --stage NAME [--region R] [--param KEY=VALUE]… [--dry-run]`
// One command per stage: packages offline, refuses to ship a template that breaks a rule
// (infra/aws/template-rules.ts) or that cfn-lint finds an error in, then `sls deploy` of exactly
// that package. CloudFormation creates or updates the one stack (network, data tier, functions)
// and runs the migrate step before any function is updated. --dry-run stops before AWS.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import {
  cfnLint,
  packageDir,
  packageStage,
  ROOT,
  readTemplate,
  stageNameProblem,
  stageParams,
} from './package';
import { checkTemplate } from './template-rules';

const USAGE = 'usage: npm run deploy -- --stage NAME [--region REGION] [--param KEY=VALUE]… [--dry-run]';

/** The flags; one that parseArgs does not know (a typo) is a usage error, not a stack trace. */
function flags() {
  try {
    return parseArgs({
      options: {
        stage: { type: 'string' },
        region: { type: 'string' },
        param: { type: 'string', multiple: true },
        'dry-run': { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

const values = flags();
const stage = values.stage;
const stageProblem = stage ? stageNameProblem(stage) : 'missing --stage';
if (!stage || stageProblem) {
  console.error(`${stageProblem}\n${USAGE}`);
  process.exit(2);
}
// The region, always passed on: packaging runs with a scrubbed environment (offlineSlsEnv), where
// serverless.yml's `env:AWS_REGION` is not set, while `sls deploy` reads the operator's AWS_REGION.
// Left to the environment, a stage went to the operator's region with a package made and linted
// for us-east-1 (its dashboard read every widget there). The same default as `npm run ops`,
// `cli migrate` and `cli prewarm`.
const region = values.region ?? process.env['AWS_REGION'] ?? 'us-east-1';
const slsArgs = ['--region', region, ...(values.param ?? []).flatMap((p) => ['--param', p])];

console.log(`[deploy] packaging ${stage} for ${region} offline`);
packageStage(stage, slsArgs);
const overrides = Object.fromEntries((values.param ?? []).map((p) => p.split('=', 2) as [string, string]));
const account_concurrency = Number(
  overrides['accountConcurrency'] ?? stageParams(stage)['accountConcurrency'],
);
const violations = checkTemplate(readTemplate(stage), { account_concurrency });
if (violations.length) {
  console.error(`[deploy] refused: the ${stage} template breaks these rules:\n  ${violations.join('\n  ')}`);
  process.exit(1);
}
const lint = cfnLint([`${packageDir(stage)}/cloudformation-template-update-stack.json`], [region]);
if (!lint.ok) {
  console.error(`[deploy] refused: cfn-lint found ${lint.errors} error(s):\n${lint.output}`);
  process.exit(1);
}
const deploy = ['deploy', '--stage', stage, '--package', packageDir(stage), ...slsArgs];
console.log(`[deploy] template rules ok, cfn-lint 0 errors`);
if (values['dry-run']) {
  console.log(`[deploy] dry run: would now run  sls ${deploy.join(' ')}`);
  process.exit(0);
}
const r = spawnSync(process.execPath, [`${ROOT}/node_modules/osls/bin/serverless.js`, ...deploy], {
  cwd: ROOT,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
