// The operator's and developer's command line: tokens, the release run on demand, the audit.
// Against the local stack it reads DATA_DIR/stack-env.json (written by `npm start`); against any
// other deployment, set DATABASE_URL, REDIS_URL, ORDERS_QUEUE_URL, ORDERS_DLQ_URL, AUTH_JWT_SECRET,
// WEBHOOK_SECRET yourself (bin/reach.ts checks the services a command needs before it runs).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { integer, positiveNumber } from './options';
import { address, firstUnreachable, type ServiceName, services, type Unreachable } from './reach';

const STACK_FILE = join(process.env['DATA_DIR'] ?? '.data', 'stack-env.json');
/** The settings this run took from STACK_FILE (none when the caller set them, or it is absent). */
const fromStackFile = loadLocalStackEnv();
const { config, required } = await import('../lib/config');
checkConfig();
const { webhookHeaders } = await import('../infra/local/sandbox/sign');
const { mintToken, SUBJECT_RULE, validSubject } = await import('../lib/http/auth');
const { isUuid } = await import('../lib/sale/order-id');
const container = await import('../lib/container');
const { auditProduct } = await import('../lib/sale/audit');
const { RELEASE_RUN_DEFAULTS, runRelease } = await import('../lib/sale/release-run');
const { rebuildMissing } = await import('../lib/sale/rebuild');
const { db, closeDb } = await import('../lib/orders/db');
const { closeRedis } = await import('../lib/inventory/client');
const { orphanedPayments, refundRequired, unappliedPayments } = await import('../lib/orders/operator');
const { queueDepth, redrive } = await import('../lib/queue/dlq');
const { sqsClient } = await import('../lib/queue/sqs');
const { makePlan, pathCounts, planHash, PLAN_DEFAULTS } = await import('./simulate/plan');
const { simulate } = await import('./simulate/run');
const { saleChart } = await import('./simulate/chart');
const { paymentEventFigures, persistedIds, statusFigures } = await import('./simulate/facts');
type SimResult = import('./simulate/run').SimResult;

const program = new Command('flash-sale').description('flash-sale operator CLI');

/** What each command reaches; the others need no service, or only AWS (prewarm, migrate to a stage). */
const NEEDS: Record<string, ServiceName[]> = {
  release: ['Redis', 'PostgreSQL', 'the queue (SQS)'],
  audit: ['Redis', 'PostgreSQL', 'the queue (SQS)'],
  'webhook-rejects': ['Redis'],
  rebuild: ['Redis', 'PostgreSQL', 'the queue (SQS)'],
  'dlq-redrive': ['the queue (SQS)'],
  pay: ['the API'],
  simulate: ['the API', 'Redis', 'PostgreSQL', 'the queue (SQS)'],
  migrate: ['PostgreSQL'],
};

/** The running command reaches the stack's services: a connection it loses says how to start them. */
let needsStack = false;

// Before a command's action: a service that is down is one line naming it, never its client's error.
program.hook('preAction', async (_program, command) => {
  const o = command.opts<{ url?: string; planOnly?: boolean; stage?: string }>();
  if (o.planOnly || (command.name() === 'migrate' && o.stage !== 'local')) return;
  needsStack = command.name() in NEEDS;
  const all = services(process.env, o.url);
  const down = await firstUnreachable((NEEDS[command.name()] ?? []).map((n) => all[n]));
  if (down) throw new Error(unreachableLine(down));
});

/** The service, its address and where that came from, and what to do: start the stack or set it. */
function unreachableLine({ service, reason }: NonNullable<Unreachable>): string {
  if (service.url === undefined) {
    const absent = fromStackFile.size ? '' : ` and ${STACK_FILE} does not exist`;
    return `${service.setting} is not set${absent}: ${startHint(service.name)}`;
  }
  const from = fromStackFile.has(service.setting) ? ` from ${STACK_FILE}` : '';
  return `cannot reach ${service.name} at ${hostPort(service.url)} (${service.setting}${from}: ${reason}): ${startHint(service.name)}`;
}

function hostPort(url: string): string {
  try {
    const a = address(url);
    return `${a.host}:${a.port}`;
  } catch {
    return url;
  }
}

function startHint(name?: ServiceName): string {
  const dataDir = process.env['DATA_DIR'] ?? '.data';
  const start = `start the local stack with \`npm start\` (DATA_DIR=${dataDir})`;
  return name === 'the API'
    ? `${start}, or pass --url of a running API`
    : `${start}, or set ${STACK_SETTINGS.join(', ')} (README: Operator CLI)`;
}

const STACK_SETTINGS = [
  'DATABASE_URL',
  'REDIS_URL',
  'ORDERS_QUEUE_URL',
  'ORDERS_DLQ_URL',
  'AUTH_JWT_SECRET',
  'WEBHOOK_SECRET',
];

program
  .command('token')
  .description('mint a development JWT (buyer by default)')
  .option('--customer <id>', 'customer id (the token subject)', customerId, 'demo-buyer')
  .option('--admin', 'mint an admin token (claim role=admin)')
  .option('--ttl <seconds>', 'lifetime in seconds', integer(1), 86400)
  .action(async (o: { customer: string; admin?: boolean; ttl: number }) => {
    const customer_id = o.admin && o.customer === 'demo-buyer' ? 'admin' : o.customer;
    console.log(await mintToken({ customer_id, admin: o.admin === true, ttl_s: o.ttl }));
  });

/** The API refuses a token whose subject breaks its rule, so none is minted. */
function customerId(value: string): string {
  if (!validSubject(value)) throw new InvalidArgumentError(SUBJECT_RULE);
  return value;
}

program
  .command('release')
  .description('run the release work once now (expiry, outbox re-send, stranded payments, releases)')
  .action(async () => {
    const report = await runRelease(
      { ...container.settleDeps(), rebuild: container.rebuildDeps() },
      {
        ...RELEASE_RUN_DEFAULTS,
        outbox_grace_ms: config().OUTBOX_GRACE_S * 1000,
        prune_after_s: config().RELEASED_PRUNE_AFTER_S,
      },
    );
    console.log(JSON.stringify(report, null, 2));
  });

program
  .command('audit')
  .description(
    'audit every product; exit 1 on drift; list refunds, orphaned payments and successful payments not applied',
  )
  .option('--json', 'print JSON')
  .option('--product <id>', 'audit only this product', integer(1))
  .action(async (o: { json?: boolean; product?: number }) => {
    // PostgreSQL's list, not Redis's: a product whose sale state was lost is named, never skipped.
    const ids = o.product ? [o.product] : (await container.products().list()).map((p) => p.id);
    const reports = [];
    const missing: number[] = [];
    for (const id of ids.sort((a, b) => a - b)) {
      const r = await auditProduct({ inventory: container.inventory(), orders: container.orders() }, id);
      if (r) reports.push(r);
      else missing.push(id);
    }
    if (o.product && missing.length) throw await unknownProduct(o.product);
    const dlq = await dlqDepth();
    const refunds = await refundRequired(db());
    const orphans = await orphanedPayments(db());
    const unapplied = await unappliedPayments(db());
    const ok = reports.every((r) => r.ok) && missing.length === 0;
    if (o.json) {
      console.log(
        JSON.stringify(
          {
            ok,
            products: reports,
            products_missing: missing,
            dlq,
            refund_required: refunds,
            orphaned: orphans,
            unapplied_payments: unapplied,
          },
          null,
          2,
        ),
      );
    } else
      printAudit(
        reports,
        missing,
        { refunds: refunds.length, orphans: orphans.length, unapplied: unapplied.length },
        dlq,
      );
    process.exitCode = ok ? 0 : 1;
  });

/** Redis has no sale of this id: a product that does not exist, or one whose live state was lost. */
async function unknownProduct(id: number): Promise<Error> {
  return (await container.products().get(id))
    ? new Error(`product ${id} has no sale state in Redis: \`npm run cli -- rebuild\` restores it`)
    : new Error(`product ${id} does not exist`);
}

function printAudit(
  reports: Awaited<ReturnType<typeof auditProduct>>[],
  missing: number[],
  money: { refunds: number; orphans: number; unapplied: number },
  dlq: { visible: number; in_flight: number } | null,
) {
  // counter_drift is an object: one column, as in --json.
  console.table(reports.map((r) => r && { ...r, counter_drift: JSON.stringify(r.counter_drift) }));
  console.log(
    `refund_required orders: ${money.refunds}   orphaned payment events: ${money.orphans}   ` +
      `successful payments not applied: ${money.unapplied}`,
  );
  console.log(
    `dead-letter queue: ${dlq ? `${dlq.visible + dlq.in_flight} message(s)` : 'ORDERS_DLQ_URL not set'}`,
  );
  if (missing.length) {
    console.log(
      `products with no sale state in Redis (lost, not rebuilt yet: \`npm run cli -- rebuild\`): ${missing.join(', ')}`,
    );
  }
  console.log(reports.every((r) => r?.ok) && !missing.length ? 'audit: ok' : 'audit: DRIFT FOUND');
}

program
  .command('webhook-rejects')
  .description('unverified webhook requests: counts per minute and reason, and the kept sample')
  // the per-minute counts are kept 24 hours
  .option('--minutes <n>', 'how many recent minutes to show (at most 1440)', integer(1, 1440), 60)
  .action(async (o: { minutes: number }) => {
    const { unverifiedReport } = await import('../lib/http/webhook-door');
    console.log(JSON.stringify(await unverifiedReport(o.minutes), null, 2));
  });

program
  .command('rebuild')
  .description('rebuild Redis state of products that lost it (exclusive; waits for the queue to drain)')
  .action(async () => {
    const results = await rebuildMissing(container.rebuildDeps());
    console.log(JSON.stringify(results));
    if (results.some((r) => r.outcome !== 'rebuilt')) process.exitCode = 1;
  });

program
  .command('pay')
  .description('send a signed payment webhook to an API, as the provider would (development)')
  .argument('<order_id>', 'the order (a UUID)', orderId)
  .option('--failed', 'send payment.failed instead of payment.succeeded')
  .option('--amount <cents>', 'amount in cents (default: the order amount, read over the API)', integer(0))
  .option('--currency <code>', 'currency', 'EUR')
  .option('--url <base>', 'API base URL', `http://localhost:${process.env['PORT'] ?? 3000}`)
  .action(
    async (order_id: string, o: { failed?: boolean; amount?: number; currency: string; url: string }) => {
      const body = JSON.stringify({
        type: o.failed ? 'payment.failed' : 'payment.succeeded',
        data: {
          order_id,
          amount_cents: o.amount ?? (await orderAmount(o.url, order_id)),
          currency: o.currency,
          payment_id: `cli_${Date.now()}`,
        },
      });
      const id = `msg_cli_${Date.now()}`;
      const res = await fetch(`${o.url}/api/payments/webhook`, {
        method: 'POST',
        headers: webhookHeaders(required('WEBHOOK_SECRET'), id, body),
        body,
      });
      console.log(res.status, await res.text());
      if (!res.ok) process.exitCode = 1; // the API refused the payment: not a success for a script
    },
  );

function orderId(value: string): string {
  if (!isUuid(value)) throw new InvalidArgumentError('an order id is a UUID');
  return value;
}

/** The order's amount, read over the API: a webhook for an order it does not know is never sent. */
async function orderAmount(base: string, order_id: string): Promise<number> {
  const admin = await mintToken({ customer_id: 'cli-admin', admin: true });
  const res = await fetch(`${base}/api/orders/${order_id}`, {
    headers: { authorization: `Bearer ${admin}` },
  });
  if (res.status === 404) throw new Error(`order ${order_id} not found at ${base}`);
  if (!res.ok) throw new Error(`GET ${base}/api/orders/${order_id}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { amount_cents: number }).amount_cents;
}

program
  .command('bench')
  .description('the benchmark (same as npm run bench; --only NAME,NAME, --quick, --list): tables, JSON + SVG')
  // Every word after `bench`, --help included, goes to load/bench.ts unchanged: it parses its own.
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .action(async (_o: unknown, cmd: Command) => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'load/bench.ts', ...cmd.args], {
      stdio: 'inherit',
    });
    process.exitCode = r.status ?? 1;
  });

program
  .command('prewarm')
  .description("keep createOrder warm for a product's sale window (provisioned concurrency on its alias)")
  .requiredOption('--product <id>', 'product whose sale window to cover (read over the API)', integer(1))
  .option('--peak-rps <n>', 'expected peak POST /api/orders per second for this sale', positiveNumber)
  .option('--cancel', "remove this product's warm capacity (other sales keep theirs)")
  .requiredOption('--stage <name>', 'deployed stage (function flash-sale-<stage>-createOrder)')
  .option(
    '--url <base>',
    'API base URL to read the sale window from',
    `http://localhost:${process.env['PORT'] ?? 3000}`,
  )
  .option('--alias <name>', "createOrder's alias the API invokes", 'live')
  .option('--lead-min <minutes>', 'warm this long before the sale starts', integer(0), 10)
  .option('--invocation-ms <ms>', "mean createOrder duration in AWS (Little's law)", positiveNumber, 40)
  .option('--headroom <x>', 'capacity above the mean', positiveNumber, 1.5)
  .option(
    '--concurrency-max <n>',
    "createOrder's reserved concurrency (default: the stage's createOrderConcurrency in serverless.yml)",
    integer(1),
  )
  .option('--memory-mb <mb>', "createOrder's memory (Lambda's range)", integer(128, 10_240), 512)
  .option('--dry-run', 'print the schedule, its cost and the calls; change nothing')
  .action(async (o: PrewarmOpts) => {
    const { runPrewarm } = await import('../lib/ops/prewarm');
    const { scheduleStore } = await import('../lib/ops/autoscaling');
    const { ApplicationAutoScalingClient } = await import('@aws-sdk/client-application-auto-scaling');
    if (!o.cancel && o.peakRps === undefined) throw new Error('give --peak-rps N, or --cancel');
    const { stageParams } = await import('../infra/aws/package');
    // What the stage deploys createOrder with, so the sizing refuses what that stage cannot run.
    const concurrency_max = o.concurrencyMax ?? Number(stageParams(o.stage)['createOrderConcurrency']);
    const resource_id = `function:flash-sale-${o.stage}-createOrder:${o.alias}`;
    const store = scheduleStore(new ApplicationAutoScalingClient({ region: config().AWS_REGION }), {
      resource_id,
    });
    console.log(`${o.dryRun ? 'dry run: ' : ''}${resource_id}`);
    await runPrewarm(
      {
        window: async (id) => {
          const res = await fetch(`${o.url}/api/products/${id}`).catch((err: Error) => {
            // a bare "fetch failed" named neither the URL nor why (README's example URL, offline)
            const cause = err.cause as NodeJS.ErrnoException | undefined;
            throw new Error(
              `cannot read product ${id}'s sale window from ${o.url} (--url): ${cause?.code ?? cause?.message ?? err.message}`,
            );
          });
          if (!res.ok) throw new Error(`GET ${o.url}/api/products/${id}: ${res.status}`);
          const p = (await res.json()) as { sale: { starts_at: string | null; ends_at: string | null } };
          const ms = (t: string | null) => (t === null ? null : Date.parse(t));
          return { product_id: id, starts_at_ms: ms(p.sale.starts_at), ends_at_ms: ms(p.sale.ends_at) };
        },
        schedule: o.dryRun ? dryRunSchedule(store) : store,
        now_ms: () => Date.now(),
        say: (l) => console.log(l),
      },
      {
        product_id: o.product,
        peak_rps: o.cancel ? null : (o.peakRps ?? null),
        lead_ms: o.leadMin * 60_000,
        sizing: {
          invocation_ms: o.invocationMs,
          headroom: o.headroom,
          concurrency_max,
        },
        memory_mb: o.memoryMb,
        arch: 'arm64',
        dry_run: o.dryRun === true,
      },
    );
  });

interface PrewarmOpts {
  product: number;
  peakRps?: number;
  cancel?: boolean;
  stage: string;
  url: string;
  alias: string;
  leadMin: number;
  invocationMs: number;
  headroom: number;
  concurrencyMax?: number;
  memoryMb: number;
  dryRun?: boolean;
}

/** --dry-run: reads the actions in place when credentials allow, and never writes. */
function dryRunSchedule(store: { list(): Promise<import('../lib/ops/prewarm').ScheduledAction[]> }) {
  return {
    list: () =>
      store.list().catch((err: Error) => {
        console.log(`(could not read the actions in place: ${err.name}; planning as if there were none)`);
        return [];
      }),
    put: async () => {},
    remove: async () => {},
  };
}

program
  .command('simulate')
  .description('rehearse a sale on a product of its own against the running local stack (seeded plan)')
  // the seed is a 32-bit unsigned integer: the generator (plan.ts rng) takes no more
  .option(
    '--seed <n>',
    'fixes the plan: arrivals, quantities, decisions',
    integer(0, 0xffff_ffff),
    PLAN_DEFAULTS.seed,
  )
  .option('--buyers <n>', 'buyers arriving', integer(1), PLAN_DEFAULTS.buyers)
  .option('--arrival-s <s>', 'arrivals spread over this many seconds', integer(1), PLAN_DEFAULTS.arrival_s)
  // the API's bounds on a product's reservation TTL
  .option(
    '--ttl-s <s>',
    'reservation TTL of the product',
    integer(1, 86_400),
    PLAN_DEFAULTS.reservation_ttl_s,
  )
  .option('--plan-only', 'print the plan and its hash, run nothing')
  .option('--svg <path>', 'where the picture goes (default DATA_DIR/simulate-<seed>.svg)')
  .option('--url <base>', 'API base URL', `http://127.0.0.1:${process.env['PORT'] ?? 3000}`)
  .action(async (o: SimulateOpts) => {
    const plan = makePlan({
      ...PLAN_DEFAULTS,
      seed: o.seed,
      buyers: o.buyers,
      arrival_s: o.arrivalS,
      reservation_ttl_s: o.ttlS,
    });
    const paths = Object.entries(pathCounts(plan)).map(([k, n]) => `${k} ${n}`);
    console.log(
      `plan sha256 ${planHash(plan)} (seed ${plan.opts.seed}: ${plan.buyers.length} buyers, ` +
        `${plan.demand_units} units demanded, stock ${plan.stock_total}; paths: ${paths.join(', ')})`,
    );
    if (o.planOnly) return;
    const result = await simulate(plan, await simulateDeps(o.url));
    const svg = o.svg ?? join(process.env['DATA_DIR'] ?? '.data', `simulate-${plan.opts.seed}.svg`);
    writeFileSync(
      svg,
      saleChart(
        result.samples,
        `Rehearsed sale: product ${result.product_id}, seed ${plan.opts.seed}`,
        `${plan.buyers.length} buyers, ${plan.demand_units} units demanded, stock ${plan.stock_total}, TTL ${plan.opts.reservation_ttl_s}s`,
      ),
    );
    process.exitCode = printSimulation(result) ? 0 : 1;
    console.log(`picture: ${svg}`);
  });

interface SimulateOpts {
  seed: number;
  buyers: number;
  arrivalS: number;
  ttlS: number;
  planOnly?: boolean;
  svg?: string;
  url: string;
}

async function simulateDeps(apiBase: string) {
  const sandbox = join(process.env['DATA_DIR'] ?? '.data', 'sandbox.json');
  if (!existsSync(sandbox))
    throw new Error(`${sandbox} not found: is \`npm start\` running with this DATA_DIR?`);
  const sql = db();
  return {
    apiBase,
    sandboxUrl: (JSON.parse(readFileSync(sandbox, 'utf8')) as { url: string }).url,
    adminToken: await mintToken({ customer_id: 'simulate', admin: true }),
    buyerToken: (customer_id: string) => mintToken({ customer_id, ttl_s: 3600 }),
    // Its own product only: with these short delays over every product it re-sent other sales'
    // outbox entries after 5 s (the suite's 200,000-entry audit test saw 595 of its copies persisted).
    releaseRun: (product_id: number) =>
      runRelease(
        { ...container.settleDeps(), rebuild: container.rebuildDeps() },
        {
          ...RELEASE_RUN_DEFAULTS,
          outbox_grace_ms: 5000,
          reapply_after_s: 2,
          adjust_after_s: 2,
          product_ids: [product_id],
        },
      ),
    statusUnits: (id: number) => statusFigures(sql, id),
    persistedIds: (id: number) => persistedIds(sql, id),
    paymentEvents: (ids: string[]) => paymentEventFigures(sql, ids),
    audit: (id: number) => auditProduct({ inventory: container.inventory(), orders: container.orders() }, id),
    say: (line: string) => console.log(line),
  };
}

/** The summary; true when the invariants hold (drift 0, nothing lost, every order final). */
function printSimulation(r: SimResult): boolean {
  const st = (k: string) => r.statuses[k] ?? { orders: 0, units: 0 };
  const line = (k: string) => `${st(k).orders} orders / ${st(k).units} units`;
  const webhook = (needle: string) =>
    Object.entries(r.webhook_results).reduce((n, [k, v]) => n + (k.includes(needle) ? v : 0), 0);
  const hits: [string, number][] = [
    ['paid', st('paid').orders],
    ['payment_failed', st('payment_failed').orders],
    ['expired', st('expired').orders],
    ['cancelled', st('cancelled').orders],
    ['refund_required (late success)', st('refund_required').orders],
    ['duplicate webhook', webhook(' duplicate')],
    ['early webhook (pending)', webhook(' pending')],
  ];
  const a = r.audit;
  console.log(`
requests:        ${JSON.stringify(r.requests)}
webhooks:        ${JSON.stringify(r.webhook_results)}
payment events:  ${JSON.stringify(r.payment_events)}
sold (paid):     ${line('paid')}
expired:         ${line('expired')}
payment failed:  ${line('payment_failed')}
cancelled:       ${line('cancelled')}
refund_required: ${line('refund_required')}
orphaned:        ${r.payment_events['orphaned'] ?? 0} payment events (pending: ${r.payment_events['pending'] ?? 0})
accepted (202):  ${r.accepted}, rows in PostgreSQL: ${r.accepted - r.lost.length}, lost: ${r.lost.length}
one key, two reservations: ${r.double_reservations}
paths hit:       ${hits.map(([k, n]) => `${k} ${n}`).join(', ')}
audit:           stock_total ${a?.stock_total} available ${a?.available} reserved ${a?.reserved} paid ${a?.paid} in_flight ${a?.in_flight} drift ${a?.drift} ${a?.ok ? 'ok' : 'NOT OK'}
final:           ${r.unexplained.length ? r.unexplained.join('; ') : 'every order final'}
wall time:       ${(r.wall_ms / 1000).toFixed(1)} s`);
  const missed = hits.filter(([, n]) => n === 0).map(([k]) => k);
  if (missed.length) console.log(`not hit this run (timing-dependent): ${missed.join(', ')}`);
  return (
    !!a?.ok && a.drift === 0 && r.lost.length === 0 && r.double_reservations === 0 && !r.unexplained.length
  );
}

program
  .command('migrate')
  .description(
    'apply migrations/: --stage local runs the migrate function here against the local stack; ' +
      'any other stage invokes its deployed migrate function (inside the VPC) with your AWS credentials',
  )
  .requiredOption('--stage <name>', 'the stage: local, or a deployed stage name')
  .option('--region <region>', 'AWS region of the stage', process.env['AWS_REGION'] ?? 'us-east-1')
  .option('--dry-run', 'print what would be invoked, call nothing')
  .action(async (o: { stage: string; region: string; dryRun?: boolean }) => {
    if (!/^[a-zA-Z0-9-]{1,32}$/.test(o.stage)) throw new Error(`invalid stage name: ${o.stage}`);
    if (o.stage === 'local') {
      if (o.dryRun) return console.log(JSON.stringify({ would_run: 'functions/migrate.handler in-process' }));
      const { handler } = await import('../functions/migrate');
      console.log(JSON.stringify(await handler(undefined)));
      return;
    }
    const FunctionName = `flash-sale-${o.stage}-migrate`;
    if (o.dryRun) return console.log(JSON.stringify({ would_invoke: FunctionName, region: o.region }));
    const { LambdaClient, InvokeCommand } = await import('@aws-sdk/client-lambda');
    const lambda = new LambdaClient({ region: o.region });
    const r = await lambda.send(new InvokeCommand({ FunctionName, Payload: new TextEncoder().encode('{}') }));
    const payload = r.Payload ? new TextDecoder().decode(r.Payload) : '';
    if (r.FunctionError) throw new Error(`${FunctionName} failed: ${payload}`);
    console.log(payload);
  });

async function dlqDepth() {
  const url = config().ORDERS_DLQ_URL;
  return url ? queueDepth(sqsClient(), url) : null;
}

program
  .command('dlq-redrive')
  .description('move messages from the orders dead-letter queue back to the orders queue')
  .option('--max <n>', 'at most this many messages', integer(1), 10_000)
  .action(async (o: { max: number }) => {
    const c = config();
    if (!c.ORDERS_DLQ_URL || !c.ORDERS_QUEUE_URL)
      throw new Error('configuration: ORDERS_DLQ_URL and ORDERS_QUEUE_URL must be set');
    const moved = await redrive(sqsClient(), c.ORDERS_DLQ_URL, c.ORDERS_QUEUE_URL, o.max);
    console.log(JSON.stringify({ moved }));
  });

/**
 * The settings checked before the modules that read them at import (the logger): an invalid one is
 * the operator's to fix, one line naming it, not a stack trace from inside an import.
 */
function checkConfig(): void {
  try {
    config();
  } catch (err) {
    console.error(`flash-sale: ${(err as Error).message}`);
    process.exit(1);
  }
}

/** The local stack's settings where the caller set none; returns the names it set. */
function loadLocalStackEnv(): Set<string> {
  const loaded = new Set<string>();
  if (process.env['DATABASE_URL'] && (process.env['REDIS_URL'] || process.env['REDIS_CLUSTER_NODES']))
    return loaded;
  if (!existsSync(STACK_FILE)) return loaded;
  const env = JSON.parse(readFileSync(STACK_FILE, 'utf8')) as Record<string, string>;
  for (const [k, v] of Object.entries(env)) {
    if (process.env[k] !== undefined) continue;
    process.env[k] = v;
    loaded.add(k);
  }
  process.env['LOG_LEVEL'] ??= 'WARN';
  return loaded;
}

/**
 * The one line for a failed command. A setting missing with no stack file, or a connection lost
 * mid-command (the stack stopped while it ran), also says how to get the stack.
 */
function failureLine(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code ?? ((err.cause ?? {}) as NodeJS.ErrnoException).code;
  const lost = code === 'ECONNREFUSED' || code === 'ECONNRESET' || err.name === 'MaxRetriesPerRequestError';
  const unset = /^configuration: .* (is not set|must be set)$/.test(err.message) && fromStackFile.size === 0;
  if (lost && needsStack) return `${err.message}: is the local stack still running? ${startHint()}`;
  if (unset) return `${err.message}, and ${STACK_FILE} does not exist: ${startHint()}`;
  return err.message;
}

try {
  await program.parseAsync();
} catch (err) {
  console.error(`flash-sale: ${failureLine(err as Error)}`);
  process.exitCode = 1;
} finally {
  await closeDb();
  await closeRedis();
  process.exit(process.exitCode ?? 0); // keep-alive sockets must not hold the command open
}
