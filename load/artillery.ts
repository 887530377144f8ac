// `npm run load -- <spike|sold-out|browse|all> [--target URL] [--buyers N]` (`--help` lists them): runs the Artillery
// scenarios of load/scenarios against a running stack — the local one (`npm start`, default
// http://localhost:PORT, PORT from the environment, else from $DATA_DIR/stack-env.json as the CLI
// reads it, else 3000) or a deployed stage by URL. For each scenario it creates a fresh product
// sized for it (admin API), mints a pool of buyer tokens into load/scenarios/tokens.csv, runs
// `artillery run` (whose `ensure` thresholds and `after` hook decide its exit code), and finally
// checks the audit itself: every accepted order in PostgreSQL, ok true, drift 0.
// Tokens are signed with AUTH_JWT_SECRET: taken from the environment, else from the local stack's
// $DATA_DIR/secrets.json. `npm run load -- tokens [--buyers N]` only writes tokens.csv.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Argument, Command, Option } from 'commander';
import { integer } from '../bin/options';
import { ROOT } from '../infra/local/stack';
import { resetConfig } from '../lib/config';
import { mintToken } from '../lib/http/auth';

export const SCENARIOS = {
  spike: {
    file: 'flash-sale-spike.yml',
    // the sale opens when the warm-up phase ends (10 s), so early arrivals meet sale-not-started
    product: () => ({
      stock_total: 3000,
      max_per_order: 2,
      sale_starts_at: new Date(Date.now() + 10_000).toISOString(),
    }),
  },
  'sold-out': { file: 'sold-out-storm.yml', product: () => ({ stock_total: 100, max_per_order: 3 }) },
  browse: { file: 'browse-mix.yml', product: () => ({ stock_total: 100_000, max_per_order: 1 }) },
} as const;
type ScenarioName = keyof typeof SCENARIOS;

const SCENARIO_DIR = join(ROOT, 'load/scenarios');
const REPORTS = join(ROOT, 'load/reports');

interface LoadOpts {
  target: string;
  buyers: number;
}

/**
 * The options, parsed before anything is minted or created: `--help`, an unknown option or scenario
 * and a bad count are commander's answer and exit, never a load run.
 */
function args(): LoadOpts & { what: string } {
  const cli = new Command('load')
    .description('run the Artillery scenarios against a running stack, then check its audit')
    .addArgument(
      new Argument('[scenario]', 'a scenario, all of them, or tokens (only write tokens.csv)')
        .choices([...Object.keys(SCENARIOS), 'all', 'tokens'])
        .default('all'),
    )
    .addOption(new Option('--target <url>', 'API base URL').env('TARGET_URL').default(defaultTarget()))
    .addOption(
      new Option('--buyers <n>', 'buyer tokens to mint').env('BUYERS').argParser(integer(1)).default(2000),
    )
    .parse();
  const o = cli.opts<LoadOpts>();
  return { what: cli.processedArgs[0] as string, target: o.target.replace(/\/$/, ''), buyers: o.buyers };
}

/**
 * The local stack's URL: PORT when set, else the port the stack on DATA_DIR (default .data) wrote to
 * its stack-env.json, else 3000. Before, only PORT counted: a stack started with its own PORT and
 * DATA_DIR got its secret from that DATA_DIR while the load went to :3000 ("fetch failed", or another
 * stack's 401s).
 */
export function defaultTarget(env: NodeJS.ProcessEnv = process.env): string {
  let port = env['PORT'];
  const file = join(env['DATA_DIR'] ?? join(ROOT, '.data'), 'stack-env.json');
  if (!port && existsSync(file)) {
    try {
      port = (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>)['PORT'];
    } catch {
      // an unreadable file leaves the default
    }
  }
  return `http://localhost:${port || '3000'}`;
}

function loadSecret(): void {
  if (process.env['AUTH_JWT_SECRET']) return;
  const file = join(process.env['DATA_DIR'] ?? join(ROOT, '.data'), 'secrets.json');
  if (!existsSync(file)) {
    throw new Error(
      `AUTH_JWT_SECRET is not set and ${file} does not exist (start the local stack, or set it)`,
    );
  }
  process.env['AUTH_JWT_SECRET'] = JSON.parse(readFileSync(file, 'utf8'))['AUTH_JWT_SECRET'];
}

export async function writeTokens(count: number, file = join(SCENARIO_DIR, 'tokens.csv')): Promise<string> {
  const run = randomUUID().slice(0, 8);
  const tokens = await Promise.all(
    Array.from({ length: count }, (_, i) => mintToken({ customer_id: `load-${run}-${i}`, ttl_s: 6 * 3600 })),
  );
  writeFileSync(file, `token\n${tokens.join('\n')}\n`);
  return file;
}

/** One admin API call; a stack that does not answer is named with its URL, not a bare "fetch failed". */
export async function call(target: string, token: string, method: string, path: string, body?: unknown) {
  let res: Response;
  try {
    res = await fetch(`${target}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    const cause = (err as Error).cause as NodeJS.ErrnoException | undefined;
    throw new Error(
      `${method} ${target}${path}: ${cause?.code ?? cause?.message ?? (err as Error).message}: is the stack running there? (--target or TARGET_URL)`,
    );
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

async function runScenario(name: ScenarioName, target: string, admin: string): Promise<boolean> {
  const s = SCENARIOS[name];
  const product = await call(target, admin, 'POST', '/api/admin/products', {
    sku: `LOAD-${name}-${randomUUID()}`,
    name: `load test: ${name}`,
    price_cents: 1000,
    currency: 'EUR',
    ...s.product(),
  });
  console.log(
    `\n== ${name}: ${s.file} against ${target}, product ${product.id} (stock ${product.stock_total})`,
  );
  mkdirSync(REPORTS, { recursive: true });
  const r = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/artillery/bin/run'),
      'run',
      '--target',
      target,
      '--output',
      join(REPORTS, `artillery-${name}.json`),
      join(SCENARIO_DIR, s.file),
    ],
    {
      stdio: 'inherit',
      env: {
        ...process.env,
        TARGET_URL: target,
        PRODUCT_ID: String(product.id),
        ADMIN_TOKEN: admin,
        ARTILLERY_DISABLE_TELEMETRY: 'true',
      },
    },
  );
  // Our own check, whatever Artillery concluded: the audit once everything has drained.
  const deadline = Date.now() + 120_000;
  let audit = await call(target, admin, 'GET', `/api/admin/products/${product.id}/audit`);
  while (audit.in_flight !== 0 && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 500));
    audit = await call(target, admin, 'GET', `/api/admin/products/${product.id}/audit`);
  }
  const auditOk = audit.ok === true && audit.drift === 0 && audit.in_flight === 0;
  console.log(
    `== ${name}: artillery exit ${r.status}; audit ${auditOk ? 'ok' : 'FAILED'}: sold ${audit.stock_total - audit.available} of ${audit.stock_total}, ${JSON.stringify(audit)}`,
  );
  return r.status === 0 && auditOk;
}

async function main(): Promise<void> {
  const a = args();
  loadSecret();
  resetConfig();
  const file = await writeTokens(a.buyers);
  console.log(`wrote ${a.buyers} buyer tokens to ${file}`);
  if (a.what === 'tokens') return;
  // commander took only a known scenario, all or tokens
  const names: ScenarioName[] =
    a.what === 'all' ? (Object.keys(SCENARIOS) as ScenarioName[]) : [a.what as ScenarioName];
  const admin = process.env['ADMIN_TOKEN'] ?? (await mintToken({ customer_id: 'load-admin', admin: true }));
  const results: Record<string, boolean> = {};
  for (const n of names) results[n] = await runScenario(n, a.target, admin);
  console.log(
    `\n${Object.entries(results)
      .map(([n, ok]) => `${n}: ${ok ? 'green' : 'FAILED'}`)
      .join(', ')}`,
  );
  if (!Object.values(results).every(Boolean)) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(`load failed: ${(err as Error).message}`);
    process.exit(1);
  });
}
