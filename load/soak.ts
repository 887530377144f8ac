// `npm run soak`: a benchmark, not a test (no pass/fail, not in CI). Runs reserve / cancel / pay
// loops against a stack of its own for --minutes (SOAK_MINUTES) with a short-TTL configuration
// (REDIS_RESEND_WINDOW_S=0, so a persisted order without an Idempotency-Key keeps its record ~6 s),
// and prints Redis bytes per completed order early in the run and at the end once everything has
// settled (tombstones expired), plus PostgreSQL bytes per order. What stays in Redis per order at
// the end is what the bound does not prune: the `released` marker of cancelled/failed orders (its
// pruning waits for the recovery issue's PostgreSQL-side release record).
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { integer, positiveNumber } from '../bin/options';
import { freePort } from '../infra/local/procs';
import { signWebhook } from '../infra/local/sandbox/sign';
import { type Stack, startStack } from '../infra/local/stack';
import { resetConfig } from '../lib/config';
import { mintToken } from '../lib/http/auth';
import { resendBound } from '../lib/inventory/inventory';

const CUSTOMERS = 200;
const COMMAND_TIMEOUT_MS = 1000;
const RESEND_WINDOW_S = 0;
const say = (m: string) => console.log(`[soak] ${m}`);

interface Tally {
  completed: number;
  paid: number;
  cancelled: number;
  failed: number;
  other: Record<string, number>;
}

interface SoakOpts {
  minutes: number;
  workers: number;
}

/** Parsed before any stack starts: `--help` and an unknown option or bad value start nothing. */
function options(): SoakOpts {
  return new Command('soak')
    .description('reserve / cancel / pay loops on a stack of its own; Redis and PostgreSQL bytes per order')
    .addOption(
      new Option('--minutes <n>', 'how long the loops run')
        .env('SOAK_MINUTES')
        .argParser(positiveNumber)
        .default(3),
    )
    .addOption(
      new Option('--workers <n>', 'concurrent loops').env('SOAK_WORKERS').argParser(integer(1)).default(16),
    )
    .addHelpText('after', "\nSOAK_LOG_LEVEL sets the stack's LOG_LEVEL (default WARN).")
    .parse()
    .opts<SoakOpts>();
}

async function main(): Promise<void> {
  const o = options();
  const dataDir = mkdtempSync(join(tmpdir(), 'flash-sale-soak-'));
  chmodSync(dataDir, 0o755);
  const stack = await startStack({
    port: await freePort(),
    dataDir,
    serve: true,
    seed: false,
    env: {
      ...process.env,
      // WARN: a persist batch that fails says why ('record failed'); SOAK_LOG_LEVEL to change it.
      LOG_LEVEL: process.env['SOAK_LOG_LEVEL'] ?? 'WARN',
      RATE_LIMIT_CUSTOMER_RPS: '0',
      RATE_LIMIT_IP_RPS: '0',
      REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
      REDIS_RESEND_WINDOW_S: String(RESEND_WINDOW_S),
    },
    say,
  });
  try {
    Object.assign(process.env, stack.env);
    resetConfig();
    await soak(stack, o.minutes * 60_000, o.workers);
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function soak(stack: Stack, soak_ms: number, workers: number): Promise<void> {
  const redis = new Redis(stack.env['REDIS_URL']!);
  const sql = postgres(stack.env['DATABASE_URL']!, { max: 2, onnotice: () => {} });
  const admin = await mintToken({ customer_id: 'soak-admin', admin: true });
  const tokens = await Promise.all(
    Array.from({ length: CUSTOMERS }, (_, i) => mintToken({ customer_id: `soak-${i}` })),
  );
  const api = async (method: string, path: string, token: string | null, body?: unknown, headers = {}) => {
    const r = await fetch(`${stack.baseUrl}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json().catch(() => null)) as any };
  };
  const product = (
    await api('POST', '/api/admin/products', admin, {
      sku: `SOAK-${randomUUID()}`,
      name: 'soak',
      price_cents: 500,
      currency: 'EUR',
      stock_total: 1_000_000,
      max_per_order: 5,
    })
  ).body;
  const bound = resendBound(COMMAND_TIMEOUT_MS, RESEND_WINDOW_S);
  say(
    `product ${product.id}; ${workers} loops for ${soak_ms / 60_000} min; tombstone ${bound.tombstone_ttl_s} s`,
  );
  const baseline = await usedMemory(redis);
  const tally: Tally = { completed: 0, paid: 0, cancelled: 0, failed: 0, other: {} };
  /** orders whose cancel was answered 202: flagged before persistence, applied once persisted */
  const cancelledEarly: string[] = [];
  const deadline = Date.now() + soak_ms;
  let early: { orders: number; bytes: number } | null = null;
  const sampler = setInterval(async () => {
    if (early || tally.completed < 500) return;
    early = { orders: tally.completed, bytes: (await usedMemory(redis)) - baseline };
  }, 1000);

  const pay = async (order: { order_id: string; amount_cents: number }, type: string) => {
    const id = `msg_${randomUUID()}`;
    const body = JSON.stringify({
      type,
      data: { order_id: order.order_id, amount_cents: order.amount_cents, currency: 'EUR', payment_id: id },
    });
    const now = new Date();
    return api('POST', '/api/payments/webhook', null, body, {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signWebhook(stack.env['WEBHOOK_SECRET']!, id, body, now),
    });
  };
  const loop = async (w: number) => {
    for (let i = 0; Date.now() < deadline; i++) {
      const token = tokens[(w * 7919 + i) % CUSTOMERS]!;
      const r = await api('POST', '/api/orders', token, { product_id: product.id, qty: 1 });
      if (r.status !== 202) {
        tally.other[r.status] = (tally.other[r.status] ?? 0) + 1;
        continue;
      }
      const step = i % 3; // a third each: cancelled, paid, payment failed
      if (step === 0) {
        const c = await api('POST', `/api/orders/${r.body.order_id}/cancel`, token);
        if (c.status === 200 || c.status === 202) tally.cancelled++;
        if (c.status === 202) cancelledEarly.push(r.body.order_id);
      } else {
        await pay(r.body, step === 1 ? 'payment.succeeded' : 'payment.failed');
        if (step === 1) tally.paid++;
        else tally.failed++;
      }
      tally.completed++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: workers }, (_, w) => loop(w)));
  clearInterval(sampler);
  const run_s = (performance.now() - t0) / 1000;
  say(
    `ran ${run_s.toFixed(0)} s: ${JSON.stringify(tally)} (${(tally.completed / run_s).toFixed(0)} orders/s)`,
  );

  // Settle: every order persisted, pending payments applied, then tombstones expire.
  await settle(stack, sql, product.id);
  const early_cancels_at_in_flight_0 = await statuses(sql, cancelledEarly);
  // The outbox is empty once every order was acked, but a persist batch that failed after its
  // acks (before applying its cancels) comes back only after the queue's visibility timeout.
  const queue_drained_s = await queueDrained(stack);
  const early_cancels_after_queue_drained = await statuses(sql, cancelledEarly);
  await new Promise((r) => setTimeout(r, (bound.tombstone_ttl_s + 2) * 1000));
  const endBytes = (await usedMemory(redis)) - baseline;
  const keys = await keyCounts(redis, stack.env['REDIS_KEY_PREFIX']!, product.id);
  const pg = await pgBytes(sql);
  const e = early as { orders: number; bytes: number } | null;
  say('report');
  console.log(
    JSON.stringify(
      {
        configuration: {
          REDIS_COMMAND_TIMEOUT_MS: COMMAND_TIMEOUT_MS,
          REDIS_RESEND_WINDOW_S: RESEND_WINDOW_S,
        },
        completed_orders: tally.completed,
        redis_bytes_per_completed_order_early: e ? Math.round(e.bytes / e.orders) : null,
        redis_bytes_per_completed_order_end: Math.round(endBytes / Math.max(1, tally.completed)),
        redis_keys_left_for_the_product: keys,
        cancelled_before_persistence: {
          by_status_when_outbox_empty: early_cancels_at_in_flight_0,
          by_status_when_queue_drained: early_cancels_after_queue_drained,
          queue_drained_after_s: queue_drained_s,
        },
        postgres_bytes_per_order: Math.round(pg.bytes / Math.max(1, pg.orders)),
        postgres: pg,
      },
      null,
      2,
    ),
  );
  redis.disconnect();
  await sql.end();
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

async function settle(stack: Stack, sql: postgres.Sql, product_id: number): Promise<void> {
  const { spawnSync } = await import('node:child_process');
  for (let i = 0; i < 120; i++) {
    const [r] = await sql`SELECT count(*)::int AS n FROM payment_events WHERE status = 'pending'`;
    const audit = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'bin/cli.ts', 'audit', '--json', '--product', String(product_id)],
      { env: { ...process.env, ...stack.env, LOG_LEVEL: 'ERROR' }, encoding: 'utf8' },
    );
    const report = JSON.parse(audit.stdout || '{"products":[]}').products[0];
    if (report?.in_flight === 0 && r!['n'] === 0) {
      say(`settled: ${JSON.stringify(report)}`);
      return;
    }
    await new Promise((res) => setTimeout(res, 1000));
  }
  say('did not settle within 2 minutes; figures below include unsettled state');
}

async function statuses(sql: postgres.Sql, order_ids: string[]): Promise<Record<string, number>> {
  const rows = await sql<{ status: string; n: number }[]>`
    SELECT status, count(*)::int AS n FROM orders WHERE order_id = ANY(${order_ids}::uuid[]) GROUP BY status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Seconds until the orders queue holds no message, visible or in flight (null: not within 3 min). */
async function queueDrained(stack: Stack): Promise<number | null> {
  const { sqsBacklog } = await import('../lib/queue/dlq');
  const { localSqsClient } = await import('../infra/local/services');
  const backlog = sqsBacklog(
    localSqsClient(stack.env['SQS_ENDPOINT']!),
    stack.env['ORDERS_QUEUE_URL']!,
    undefined,
  );
  const t0 = Date.now();
  while (Date.now() - t0 < 180_000) {
    if ((await backlog.depth()).queue === 0) return Math.round((Date.now() - t0) / 1000);
    await new Promise((res) => setTimeout(res, 1000));
  }
  return null;
}

async function keyCounts(redis: Redis, prefix: string, product_id: number) {
  const tag = `${prefix}:{p:${product_id}}`;
  const orderKeys = (await redis.keys(`${tag}:order:*`)).length;
  return {
    order_records: orderKeys,
    released_entries: await redis.hlen(`${tag}:released`),
    customers_entries: await redis.hlen(`${tag}:customers`),
    outbox: await redis.zcard(`${tag}:outbox`),
  };
}

async function pgBytes(sql: postgres.Sql) {
  const tables = ['orders', 'order_events', 'payment_events', 'webhook_receipts', 'stock_releases'];
  const sizes = await sql<{ t: string; bytes: string }[]>`
    SELECT t, pg_total_relation_size(t::regclass)::text AS bytes FROM unnest(${tables}::text[]) AS t`;
  const [o] = await sql`SELECT count(*)::int AS n FROM orders`;
  const per_table = Object.fromEntries(sizes.map((s) => [s.t, Number(s.bytes)]));
  return { orders: o!['n'] as number, bytes: Object.values(per_table).reduce((a, b) => a + b, 0), per_table };
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`[soak] failed: ${(err as Error).stack}`);
    process.exit(1);
  },
);
