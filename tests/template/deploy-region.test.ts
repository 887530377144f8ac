// Pins down that `npm run deploy` packages and lints a stage for the region it deploys it to: the
// operator's (--region, else AWS_REGION, as serverless.yml and every other runbook command read it).
// Packaging runs with a scrubbed environment (infra/aws/package.ts, offlineSlsEnv), so a region left
// to the environment was us-east-1 there, while `sls deploy` (which reads AWS_REGION) created the
// stack in the operator's region: its dashboard read every widget from us-east-1 and cfn-lint had
// checked the template for us-east-1.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { offlineSlsEnv, packageDir, ROOT } from '../../infra/aws/package';

// A stage of its own, so the packages the other template tests read are left as they are.
const STAGE = 'regioncheck';

afterAll(() => rmSync(packageDir(STAGE), { recursive: true, force: true }));

it("packages, lints and deploys for the operator's AWS_REGION when --region is not given", {
  timeout: 600_000,
}, () => {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'infra/aws/deploy.ts', '--stage', STAGE, '--dry-run'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 600_000,
      // packaging's own scrubbed environment, plus only the region a deploy would read
      env: { ...offlineSlsEnv(), AWS_REGION: 'eu-west-1' },
    },
  );
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  const state = JSON.parse(readFileSync(join(packageDir(STAGE), 'serverless-state.json'), 'utf8'));
  expect(state.service.provider.region).toBe('eu-west-1');
  // Nothing in the template names a region of its own (the dashboard reads AWS::Region).
  const template = readFileSync(join(packageDir(STAGE), 'cloudformation-template-update-stack.json'), 'utf8');
  expect(template).not.toContain('us-east-1');
  expect(r.stdout).toMatch(/would now run {2}sls deploy --stage regioncheck .*--region eu-west-1/);
});
