// The operator's and developer's command line: tokens, the release run on demand, the audit.
// Against the local stack it reads DATA_DIR/stack-env.json (written by `npm start`); against any
// other deployment, set DATABASE_URL, REDIS_URL, ORDERS_QUEUE_URL, AUTH_JWT_SECRET yourself.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';

loadLocalStackEnv();
const { config, required } = await import('../lib/config');
const { signWebhook } = await import('../lib/http/webhook');
const { mintToken } = await import('../lib/http/auth');
const container = await import('../lib/container');
const { auditProduct } = await import('../lib/sale/audit');
const { RELEASE_RUN_DEFAULTS, runRelease } = await import('../lib/sale/release-run');
const { rebuildMissing } = await import('../lib/sale/rebuild');
const { db, closeDb } = await import('../lib/orders/db');
const { closeRedis } = await import('../lib/inventory/client');
const { orphanedPayments, refundRequired } = await import('../lib/orders/operator');
const { queueDepth, redrive } = await import('../lib/queue/dlq');
const { sqsClient } = await import('../lib/queue/sqs');

const program = new Command('flash-sale').description('flash-sale operator CLI');

program
  .command('token')
  .description('mint a development JWT (buyer by default)')
  .option('--customer <id>', 'customer id (the token subject)', 'demo-buyer')
  .option('--admin', 'mint an admin token (claim role=admin)')
  .option('--ttl <seconds>', 'lifetime in seconds', '86400')
  .action(async (o: { customer: string; admin?: boolean; ttl: string }) => {
    const customer_id = o.admin && o.customer === 'demo-buyer' ? 'admin' : o.customer;
    console.log(await mintToken({ customer_id, admin: o.admin === true, ttl_s: Number(o.ttl) }));
  });

program
  .command('release')
  .description('run the release work once now (expiry, outbox re-send, stranded payments, releases)')
  .action(async () => {
    const report = await runRelease(
      { ...container.settleDeps(), rebuild: container.rebuildDeps() },
      {
        ...RELEASE_RUN_DEFAULTS,
        outbox_grace_ms: config().OUTBOX_GRACE_S * 1000,
      },
    );
    console.log(JSON.stringify(report, null, 2));
  });

program
  .command('audit')
  .description('audit every product; exit 1 on drift; list refunds and orphaned payments')
  .option('--json', 'print JSON')
  .option('--product <id>', 'audit only this product')
  .action(async (o: { json?: boolean; product?: string }) => {
    const products = await container.inventory().snapshots(o.product ? [Number(o.product)] : undefined);
    const reports = [];
    for (const p of products.sort((a, b) => a.product.id - b.product.id)) {
      const r = await auditProduct(
        { inventory: container.inventory(), orders: container.orders() },
        p.product.id,
      );
      if (r) reports.push(r);
    }
    const dlq = await dlqDepth();
    const refunds = await refundRequired(db());
    const orphans = await orphanedPayments(db());
    const ok = reports.every((r) => r.ok);
    if (o.json) {
      console.log(
        JSON.stringify({ ok, products: reports, dlq, refund_required: refunds, orphaned: orphans }, null, 2),
      );
    } else printAudit(reports, refunds.length, orphans.length, dlq);
    process.exitCode = ok ? 0 : 1;
  });

function printAudit(
  reports: Awaited<ReturnType<typeof auditProduct>>[],
  refunds: number,
  orphans: number,
  dlq: { visible: number; in_flight: number } | null,
) {
  console.table(reports);
  console.log(`refund_required orders: ${refunds}   orphaned payment events: ${orphans}`);
  console.log(
    `dead-letter queue: ${dlq ? `${dlq.visible + dlq.in_flight} message(s)` : 'ORDERS_DLQ_URL not set'}`,
  );
  console.log(reports.every((r) => r?.ok) ? 'audit: ok' : 'audit: DRIFT FOUND');
}

program
  .command('rebuild')
  .description('rebuild Redis state of products that lost it (exclusive; waits for the queue to drain)')
  .action(async () => {
    const results = await rebuildMissing(container.rebuildDeps());
    console.log(JSON.stringify(results));
    if (results.some((r) => r.outcome !== 'rebuilt')) process.exitCode = 1;
  });

program
  .command('pay <order_id>')
  .description('send a signed payment webhook to an API, as the provider would (development)')
  .option('--failed', 'send payment.failed instead of payment.succeeded')
  .option('--amount <cents>', 'amount in cents (default: the order amount, read over the API)')
  .option('--currency <code>', 'currency', 'EUR')
  .option('--url <base>', 'API base URL', `http://localhost:${process.env['PORT'] ?? 3000}`)
  .action(
    async (order_id: string, o: { failed?: boolean; amount?: string; currency: string; url: string }) => {
      const admin = await mintToken({ customer_id: 'cli-admin', admin: true });
      const order = o.amount
        ? { amount_cents: Number(o.amount) }
        : ((await (
            await fetch(`${o.url}/api/orders/${order_id}`, { headers: { authorization: `Bearer ${admin}` } })
          ).json()) as {
            amount_cents: number;
          });
      const body = JSON.stringify({
        type: o.failed ? 'payment.failed' : 'payment.succeeded',
        data: {
          order_id,
          amount_cents: order.amount_cents,
          currency: o.currency,
          payment_id: `cli_${Date.now()}`,
        },
      });
      const id = `msg_cli_${Date.now()}`;
      const now = new Date();
      const res = await fetch(`${o.url}/api/payments/webhook`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': signWebhook(required('WEBHOOK_SECRET'), id, body, now),
        },
        body,
      });
      console.log(res.status, await res.text());
    },
  );

program
  .command('bench')
  .description('the benchmark (same as npm run bench): every scenario in one run, one table, JSON + SVG')
  .allowUnknownOption()
  .action(async (_o: unknown, cmd: Command) => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'load/bench.ts', ...cmd.args], {
      stdio: 'inherit',
    });
    process.exitCode = r.status ?? 1;
  });

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
  .option('--max <n>', 'at most this many messages', '10000')
  .action(async (o: { max: string }) => {
    const c = config();
    if (!c.ORDERS_DLQ_URL || !c.ORDERS_QUEUE_URL)
      throw new Error('ORDERS_DLQ_URL and ORDERS_QUEUE_URL must be set');
    const moved = await redrive(sqsClient(), c.ORDERS_DLQ_URL, c.ORDERS_QUEUE_URL, Number(o.max));
    console.log(JSON.stringify({ moved }));
  });

function loadLocalStackEnv(): void {
  if (process.env['DATABASE_URL'] && (process.env['REDIS_URL'] || process.env['REDIS_CLUSTER_NODES'])) return;
  const file = join(process.env['DATA_DIR'] ?? '.data', 'stack-env.json');
  if (!existsSync(file)) return;
  const env = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  for (const [k, v] of Object.entries(env)) process.env[k] ??= v;
  process.env['LOG_LEVEL'] ??= 'WARN';
}

try {
  await program.parseAsync();
} catch (err) {
  console.error(`flash-sale: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await closeDb();
  await closeRedis();
  process.exit(process.exitCode ?? 0); // keep-alive sockets must not hold the command open
}
