// Packages stages offline (`sls package`, no AWS call, nothing from the caller's environment) and
// runs cfn-lint on the generated templates. Used by the template tests (tests/template), by
// `npm run deploy` before anything ships, and (packageTo) by every other offline packaging: the
// sandbox-free packaging test and LocalStack's template.
//   npx tsx infra/aws/package.ts [STAGE…]   packages (default: every checked stage) and lints
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { load } from 'js-yaml';
import { ensureVenv, venvBin } from '../local/python';

export const ROOT = resolve(import.meta.dirname, '..', '..');
/** dev and prod (a VPC and data tier of their own), shared (an existing VPC, Redis and PostgreSQL). */
export const CHECKED_STAGES = ['dev', 'prod', 'shared'] as const;
const SLS = join(ROOT, 'node_modules/osls/bin/serverless.js');

const TEMPLATE_FILE = 'cloudformation-template-update-stack.json';

/**
 * A stage name every resource named after it accepts: MemoryDB users and clusters take lowercase
 * letters, digits and single hyphens (a user name starts with a letter), at most 40 characters for
 * `flashsale-app-STAGE` and `flash-sale-STAGE`; RDS Proxy refuses a trailing or doubled hyphen.
 * cfn-lint only sees the names a packaged stage resolved to, so a bad one would fail mid-deploy.
 */
export const STAGE_NAME_MAX = 26;
export function stageNameProblem(stage: string): string | null {
  if (stage.length > STAGE_NAME_MAX) return `stage name longer than ${STAGE_NAME_MAX} characters`;
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(stage))
    return 'stage name: lowercase letters, digits and single hyphens, starting with a letter, not ending with a hyphen';
  return null;
}

export const packageDir = (stage: string) => join(ROOT, '.package', stage);
export const templatePath = (stage: string) => join(packageDir(stage), TEMPLATE_FILE);

/**
 * The environment of an offline osls run: no AWS credentials, no local-stack variables, so a value
 * that would silently come from the packaging machine (or an AWS lookup) cannot (DESIGN.md, "In AWS").
 */
export function offlineSlsEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    // Any AWS call fails fast instead of finding credentials somewhere.
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}

/** osls in the project with offlineSlsEnv() (plus `env`): its stdout; a failure throws with its output. */
export function slsOffline(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, [SLS, ...args], {
    cwd: ROOT,
    env: { ...offlineSlsEnv(), ...env },
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0)
    throw new Error(`sls ${args.slice(0, 3).join(' ')} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * `sls package --stage STAGE` offline into `out`; the template's path. serverless-esbuild deletes its
 * work folder once it has packaged, so each packaging builds in one of its own (`work_folder`, read
 * by serverless.yml from SLS_ESBUILD_WORK_FOLDER), never in the .esbuild/ a running
 * serverless-offline serves nor in another packaging's.
 */
export function packageTo(
  stage: string,
  out: string,
  opts: { work_folder: string; extraArgs?: string[] },
): string {
  slsOffline(['package', '--stage', stage, '--package', out, ...(opts.extraArgs ?? [])], {
    SLS_ESBUILD_WORK_FOLDER: opts.work_folder,
  });
  return join(out, TEMPLATE_FILE);
}

/** A checked stage, packaged into .package/STAGE (what deploy ships and the template tests read). */
export function packageStage(stage: string, extraArgs: string[] = []): string {
  return packageTo(stage, packageDir(stage), { work_folder: `.esbuild-package-${stage}`, extraArgs });
}

/** Newest modification time among the inputs of a package (config, code, migrations). */
function newestInput_ms(): number {
  let newest = 0;
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of ['serverless.yml', 'package-lock.json', 'infra/aws', 'infra/local', 'infra/queues.json',
    'infra/redis-acl.json', 'functions', 'lib', 'lua', 'migrations']) // biome-ignore format: a list
    walk(join(ROOT, p));
  return newest;
}

/** Packages the stages whose template is missing or older than any input. */
export function packageIfStale(stages: readonly string[] = CHECKED_STAGES, say = console.log): string[] {
  const newest_ms = newestInput_ms();
  return stages.map((stage) => {
    const t = templatePath(stage);
    if (existsSync(t) && statSync(t).mtimeMs > newest_ms) return t;
    const t0 = Date.now();
    packageStage(stage);
    say(`[package] ${stage}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return t;
  });
}

export interface LintResult {
  ok: boolean;
  errors: number;
  output: string;
}

/**
 * cfn-lint (pinned in infra/python/requirements.txt) on the given templates: errors fail, warnings
 * print. `regions`: where they will be deployed (cfn-lint's own default is us-east-1 only).
 */
export function cfnLint(templates: string[], regions: string[] = []): LintResult {
  ensureVenv();
  const regionArgs = regions.length ? ['--regions', ...regions] : [];
  const r = spawnSync(venvBin('cfn-lint'), ['--format', 'parseable', ...regionArgs, '--', ...templates], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  const output = `${r.stdout}${r.stderr}`;
  // parseable: path:line:col:line:col:RULE:message; E… are errors, W…/I… warnings and notes.
  const errors = output.split('\n').filter((l) => /:E\d{4}:/.test(l)).length;
  // Exit code bit 2 = errors (cfn-lint's documented codes); anything but 0/4/8 means it did not run.
  const ran = r.status !== null && [0, 2, 4, 6, 8, 10, 12, 14].includes(r.status);
  if (!ran) throw new Error(`cfn-lint did not run (exit ${r.status}):\n${output}`);
  return { ok: errors === 0 && ((r.status ?? 2) & 2) === 0, errors, output };
}

/** serverless.yml's `params` for a stage: default, then the stage's own (osls's order). */
export function stageParams(stage: string): Record<string, unknown> {
  const doc = load(readFileSync(join(ROOT, 'serverless.yml'), 'utf8')) as {
    params: Record<string, Record<string, unknown>>;
  };
  return { ...doc.params['default'], ...(doc.params[stage] ?? {}) };
}

export const readTemplate = (stage: string) => JSON.parse(readFileSync(templatePath(stage), 'utf8'));

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const stages = process.argv.slice(2);
  const templates = (stages.length ? stages : CHECKED_STAGES).map((s) => {
    const t0 = Date.now();
    const t = packageStage(s);
    console.log(`[package] ${s}: ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${t}`);
    return t;
  });
  const lint = cfnLint(templates);
  console.log(lint.output || '[cfn-lint] no findings');
  console.log(`[cfn-lint] ${lint.errors} error(s)`);
  process.exit(lint.ok ? 0 : 1);
}
