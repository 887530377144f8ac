// `npm run test:contract`: contract fuzzing with Schemathesis (pinned in infra/python/requirements.txt,
// run from the project venv) against the live /openapi.json of a stack of its own, with a buyer and
// an admin token, rate limits off. Bounded: examples per operation, a fixed seed, a wall-clock
// limit. Fails on any 5xx, any response outside the documented statuses, content types, headers or
// schemas, and on a final audit that is not ok. Prints the seed and the number of cases run.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resetConfig } from '../../lib/config';
import { mintToken } from '../../lib/http/auth';
import { freePort } from './procs';
import { ensureVenv, venvBin } from './python';
import { type Stack, startStack } from './stack';

const SEED = Number(process.env['CONTRACT_SEED'] ?? 20261202);
const EXAMPLES_PER_OPERATION = Number(process.env['CONTRACT_MAX_EXAMPLES'] ?? 30);
/** Schemathesis' own budget per pass; the stage as a whole has CI's limit on top. */
const PASS_TIME_MAX_S = Number(process.env['CONTRACT_MAX_TIME_S'] ?? 180);
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
].join(',');
/** The whole stage, stack start and audit included: past this it fails instead of hanging CI. */
const STAGE_TIME_MAX_S = Number(process.env['CONTRACT_STAGE_MAX_S'] ?? 900);
const say = (m: string) => console.log(`[contract] ${m}`);

let stack: Stack | undefined;
let running: ChildProcess | undefined;

interface Pass {
  name: string;
  token: string;
  /** extra Schemathesis filter arguments */
  filter: string[];
}

async function main(): Promise<number> {
  const watchdog = setTimeout(async () => {
    console.error(`[contract] FAILED: over the stage limit of ${STAGE_TIME_MAX_S} s`);
    running?.kill('SIGKILL');
    await stack?.stop();
    process.exit(124);
  }, STAGE_TIME_MAX_S * 1000);
  watchdog.unref();
  ensureVenv(say);
  const dataDir = mkdtempSync(join(tmpdir(), 'flash-sale-contract-'));
  chmodSync(dataDir, 0o755); // PostgreSQL runs as the postgres user and must reach its folder
  stack = await startStack({
    port: await freePort(),
    dataDir,
    serve: true,
    seed: true,
    env: {
      ...process.env,
      LOG_LEVEL: 'WARN',
      RATE_LIMIT_CUSTOMER_RPS: '0',
      RATE_LIMIT_IP_RPS: '0',
      WEBHOOK_FAILED_PER_MIN: '0',
    },
    say,
  });
  try {
    Object.assign(process.env, stack.env);
    resetConfig();
    const passes: Pass[] = [
      // every operation as a buyer (admin routes answer 403, which is documented)
      { name: 'buyer', token: await mintToken({ customer_id: 'contract-buyer' }), filter: [] },
      // the admin routes with an admin token
      {
        name: 'admin',
        token: await mintToken({ customer_id: 'contract-admin', admin: true }),
        filter: ['--include-path-regex', '^/api/admin/'],
      },
    ];
    let failed = false;
    for (const p of passes) failed = !(await runPass(stack, dataDir, p)) || failed;
    const audited = auditAll(stack);
    say(`final audit: ${audited ? 'ok' : 'DRIFT'}`);
    return failed || !audited ? 1 : 0;
  } finally {
    await stack.stop();
    stack = undefined;
    if (!process.env['KEEP_TEST_DATA']) rmSync(dataDir, { recursive: true, force: true });
  }
}

async function runPass(stack: Stack, dataDir: string, p: Pass): Promise<boolean> {
  const report = join(dataDir, `schemathesis-${p.name}.ndjson`);
  const args = [
    'run',
    `${stack.baseUrl}/openapi.json`,
    '--url',
    stack.baseUrl,
    '-H',
    `Authorization: Bearer ${p.token}`,
    '--checks',
    CHECKS,
    '--phases',
    'examples,coverage,fuzzing',
    '--max-examples',
    String(EXAMPLES_PER_OPERATION),
    '--seed',
    String(SEED),
    '--max-time',
    String(PASS_TIME_MAX_S),
    '--workers',
    '2',
    '--request-timeout',
    '10',
    '--no-shrink',
    '--report',
    'ndjson',
    '--report-ndjson-path',
    report,
    '--output-truncate',
    'true',
    ...p.filter,
  ];
  say(`pass ${p.name}: st ${args.filter((a) => !a.startsWith('Authorization')).join(' ')}`);
  // Asynchronously: this process reads the stack's output pipes and runs its SQS trigger, and a
  // blocked event loop (spawnSync) stalls serverless-offline once its stdout pipe fills.
  // cwd: Schemathesis keeps a cache folder in its working directory; keep it out of the checkout.
  const child = spawn(venvBin('st'), args, {
    stdio: 'inherit',
    cwd: dataDir,
    env: { ...process.env, NO_COLOR: '1' },
  });
  running = child;
  const status = await new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const cases = existsSync(report) ? casesRun(report) : 'unknown';
  say(`pass ${p.name}: seed ${SEED}, ${cases} cases run, exit ${status}`);
  return status === 0;
}

/** Cases run, from the ndjson report: one ScenarioFinished event per scenario, with its cases. */
function casesRun(ndjson: string): number {
  let n = 0;
  for (const line of readFileSync(ndjson, 'utf8').split('\n')) {
    if (!line.includes('ScenarioFinished')) continue;
    const event = JSON.parse(line) as {
      ScenarioFinished?: { recorder?: { cases?: Record<string, unknown> } };
    };
    n += Object.keys(event.ScenarioFinished?.recorder?.cases ?? {}).length;
  }
  return n;
}

function auditAll(stack: Stack): boolean {
  const env = { ...process.env, ...stack.env, LOG_LEVEL: 'ERROR' };
  const cli = (cmd: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'bin/cli.ts', ...cmd], { env, encoding: 'utf8' });
  cli(['release']);
  const a = cli(['audit']);
  process.stdout.write(a.stdout);
  return a.status === 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`[contract] failed: ${(err as Error).stack}`);
    process.exit(1);
  },
);
