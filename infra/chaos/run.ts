// One chaos run: load with a recorded history, one fault injected and recovered mid-load, the
// release work ticking (as the schedule would, faster), then settle and check. Used by the fault
// tests and by `npm run chaos`.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import postgres from 'postgres';
import { resetConfig } from '../../lib/config';
import { mintToken } from '../../lib/http/auth';
import { PROBLEM_BASE } from '../../lib/http/problems';
import { acceptedFromRow, ORDER_COLUMNS, type OrderRow } from '../../lib/orders/rows';
import { redrive } from '../../lib/queue/dlq';
import { newOrderId } from '../../lib/sale/order-id';
import {
  dropRedisConnections,
  killFunctions,
  killRedis,
  pauseQueue,
  restartFunctions,
  restartPostgres,
  restartQueue,
  restartRedis,
  resumeQueue,
  rollbackProduct,
  stopPostgres,
  stopQueue,
  wipeRedis,
} from '../local/faults';
import { signWebhook } from '../local/sandbox/sign';
import { localSqsClient } from '../local/services/queue';
import type { Stack } from '../local/stack';
import { checkHistory, type HistoryVerdict, runLoad } from './history';

export interface Fault {
  describe: string;
  inject(stack: Stack, ctx: FaultContext): Promise<void>;
  hold_ms: number;
  recover(stack: Stack, ctx: FaultContext): Promise<void>;
  /** checked while the fault is active */
  during?(stack: Stack, ctx: FaultContext): Promise<string | null>;
  /** product settings the scenario needs (e.g. a short reservation TTL so orders expire) */
  product?: { reservation_ttl_s?: number };
  /**
   * A rollback loses acknowledged writes, so units can be sold twice between the fault and its
   * detection (DESIGN.md, "Recovery, precisely"): sampled oversell after the injection is counted
   * apart, and the run must end with it surfaced (audit ok, nothing oversold among final orders).
   */
  oversells_until_detected?: true;
}

/** What a scenario may act on: the load's product, PostgreSQL, and a place to report problems. */
export interface FaultContext {
  product_id: number;
  sql: postgres.Sql;
  /** a wrong answer seen while acting (a webhook or cancel answered wrongly): fails the run */
  problems: string[];
  /** what the last release run reported (or its error), for diagnosing a problem */
  last_run: unknown;
}

const noop = async () => {};

export const FAULTS: Record<string, Fault> = {
  none: { describe: 'no fault (baseline)', inject: noop, hold_ms: 0, recover: noop },
  'redis-kill': {
    describe: 'kill -9 Redis mid-load, restart it from its AOF',
    async inject(stack, ctx) {
      await warmUp(stack, await redisProbes(ctx));
      await killRedis(stack);
    },
    hold_ms: 2000,
    recover: restartRedis,
    async during(stack, ctx) {
      return answersUnavailable(stack, await redisProbes(ctx));
    },
  },
  'redis-wipe': {
    describe: 'Redis loses all its data mid-sale; the release run rebuilds from PostgreSQL',
    inject: wipeRedis,
    hold_ms: 0,
    recover: noop,
  },
  'redis-wipe-cancels': {
    describe:
      'Redis wiped, then customers cancel persisted orders before the rebuild (releases in the loss window)',
    async inject(stack, ctx) {
      await wipeRedis(stack);
      await cancelSome(stack, ctx, 15);
    },
    hold_ms: 0,
    recover: noop,
  },
  'redis-wipe-payments': {
    describe:
      'Redis wiped, then payment.failed on reserved orders and late payment.succeeded on expired ones (503 while rebuilding, retried)',
    product: { reservation_ttl_s: 2 },
    async inject(stack, ctx) {
      await untilSome(ctx, 'expired');
      await wipeRedis(stack);
      await paySome(stack, ctx, 'reserved', 'payment.failed', 10);
      await paySome(stack, ctx, 'expired', 'payment.succeeded', 10);
    },
    hold_ms: 0,
    recover: noop,
  },
  'redis-wipe-dlq': {
    describe:
      'Redis wiped while the DLQ holds an order message: the product stays closed until the DLQ is redriven',
    async inject(stack, ctx) {
      await dlqCopyOfAnOrder(stack, ctx);
      await wipeRedis(stack);
    },
    hold_ms: 4000,
    async during(stack, ctx) {
      const r = await buyOnce(stack, ctx.product_id);
      return r === 503
        ? null
        : `a reserve answered ${r} while the DLQ held an order (product must stay closed)`;
    },
    async recover(stack) {
      const sqs = localSqsClient(stack.queue!.endpoint);
      await redrive(sqs, stack.env['ORDERS_DLQ_URL']!, stack.env['ORDERS_QUEUE_URL']!);
    },
  },
  'redis-wipe-in-flight-send': {
    describe:
      'Redis wiped while createOrder sends are in flight (the queue frozen across the wipe, then resumed)',
    async inject(stack) {
      pauseQueue(stack);
      await sleep(300); // reservations made now have their SendMessage hanging
      await wipeRedis(stack);
      await sleep(1200);
      resumeQueue(stack);
    },
    hold_ms: 0,
    recover: noop,
  },
  'redis-rollback': {
    describe: 'a partial rollback: the product state in Redis goes back 1.5 s under load (lost last writes)',
    async inject(stack, ctx) {
      await rollbackProduct(stack, ctx.product_id, 1500);
    },
    hold_ms: 0,
    recover: noop,
    oversells_until_detected: true,
  },
  'redis-drop-connections': {
    describe: 'every Redis client connection dropped repeatedly while reserves are in flight',
    async inject(stack) {
      for (let i = 0; i < 10; i++) {
        await dropRedisConnections(stack);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    hold_ms: 0,
    recover: noop,
  },
  'queue-down': {
    describe: 'the SQS endpoint down for 5 s (the emulator loses every message it held)',
    inject: stopQueue,
    hold_ms: 5000,
    recover: restartQueue,
  },
  'postgres-down': {
    describe: 'PostgreSQL stopped for 5 s: persist batches fail and return; the backlog drains after',
    async inject(stack) {
      await warmUp(stack, await postgresProbes());
      await stopPostgres(stack);
    },
    hold_ms: 5000,
    recover: restartPostgres,
    async during(stack) {
      const r = await fetch(`${stack.baseUrl}/readyz`).catch(() => null);
      if (!r) return 'readyz did not answer';
      const body = (await r.json()) as { down?: string[] };
      if (r.status !== 503 || !body.down?.includes('postgres')) return `readyz said ${r.status}`;
      return answersUnavailable(stack, await postgresProbes());
    },
  },
  'functions-kill': {
    describe: 'kill -9 every function mid-request and mid-batch (createOrder between Lua and send)',
    inject: killFunctions,
    hold_ms: 500,
    recover: restartFunctions,
  },
  'duplicate-delivery': {
    describe: 'every queue batch delivered twice, concurrently',
    async inject(stack) {
      stack.opts.duplicateDelivery = true;
    },
    hold_ms: 6000,
    async recover(stack) {
      stack.opts.duplicateDelivery = false;
    },
  },
};

/**
 * The fault suite's groups (tests/faults/faults.test.ts runs them in this order on one stack): every
 * fault but the baseline in exactly one (tests/unit/fault-groups.test.ts).
 */
export const FAULT_GROUPS = {
  'redis-loss': [
    'redis-wipe',
    'redis-wipe-cancels',
    'redis-wipe-payments',
    'redis-wipe-dlq',
    'redis-wipe-in-flight-send',
    'redis-rollback',
  ],
  processes: [
    'redis-kill',
    'redis-drop-connections',
    'queue-down',
    'postgres-down',
    'functions-kill',
    'duplicate-delivery',
  ],
} as const satisfies Record<string, readonly string[]>;
export type FaultGroup = keyof typeof FAULT_GROUPS;

export interface ChaosOpts {
  duration_ms: number;
  concurrency: number;
  stock_total: number;
  settle_timeout_ms: number;
}

export interface ChaosReport {
  fault: string;
  describe: string;
  verdict: HistoryVerdict;
  audit: {
    drift: number;
    ok: boolean;
    stock_total: number;
    available: number;
    reserved: number;
    paid: number;
    in_flight: number;
  };
  samples: number;
  sampled_violations: number;
  /** oversell sampled between a rollback and its detection (only for oversells_until_detected) */
  window_violations: number;
  during_problem: string | null;
  settle_ms: number;
  ok: boolean;
}

export async function runChaos(
  stack: Stack,
  name: string,
  opts: ChaosOpts,
  say = (_: string) => {},
): Promise<ChaosReport> {
  const fault = FAULTS[name];
  if (!fault) throw new Error(`unknown fault ${name}; known: ${Object.keys(FAULTS).join(', ')}`);
  Object.assign(process.env, stack.env);
  resetConfig();
  const { settleDeps, rebuildDeps } = await import('../../lib/container');
  const { runRelease, RELEASE_RUN_DEFAULTS } = await import('../../lib/sale/release-run');
  const tick = () =>
    runRelease(
      { ...settleDeps(), rebuild: rebuildDeps() },
      { ...RELEASE_RUN_DEFAULTS, outbox_grace_ms: 3000 },
    );

  const admin = await mintToken({ customer_id: 'chaos-admin', admin: true });
  const product = await createProduct(stack.baseUrl, admin, opts.stock_total, fault.product);
  const audit = () => auditOf(stack.baseUrl, admin, product.id);
  const ctxSql = postgres(stack.env['DATABASE_URL']!, { max: 2, onnotice: () => {} });
  const ctx: FaultContext = { product_id: product.id, sql: ctxSql, problems: [], last_run: null };

  // The background loops stop as soon as the run has settled, not after their current pause.
  const background = new AbortController();
  const pause = (ms: number) => delay(ms, undefined, { signal: background.signal }).catch(() => {});
  const ticker = (async () => {
    while (!background.signal.aborted) {
      // dependencies may be down: the next tick retries
      ctx.last_run = await tick().catch((err: unknown) => String(err));
      await pause(1500);
    }
  })();
  let samples = 0;
  let sampled_violations = 0;
  let window_violations = 0;
  let injected = false;
  const sampler = (async () => {
    while (!background.signal.aborted) {
      const a = await audit().catch(() => null);
      if (a && a.drift !== undefined) {
        samples++;
        if (a.reserved + a.paid > a.stock_total || a.available < 0) {
          if (injected && fault.oversells_until_detected) window_violations++;
          else sampled_violations++;
        }
      }
      await pause(400);
    }
  })();

  let during_problem: string | null = null;
  const faultRun = (async () => {
    await sleep(opts.duration_ms / 3);
    say(`fault ${name}: ${fault.describe}`);
    await fault.inject(stack, ctx);
    injected = true;
    const t_end = Date.now() + fault.hold_ms;
    if (fault.during) {
      await sleep(Math.min(1500, fault.hold_ms / 2));
      during_problem = await fault.during(stack, ctx);
    }
    await sleep(Math.max(0, t_end - Date.now()));
    await fault.recover(stack, ctx);
    say(`fault ${name}: recovered`);
  })();

  const history = await runLoad(
    {
      baseUrl: stack.baseUrl,
      product_id: product.id,
      concurrency: opts.concurrency,
      duration_ms: opts.duration_ms,
      token: (c) => mintToken({ customer_id: c }),
      attempts_max: 40,
      request_timeout_ms: 5000,
      run_tag: `${name}-${product.id}`,
    },
    (n) => say(`  ${n} purchases so far`),
  );
  await faultRun;

  const t_settle = Date.now();
  let last = await settle(tick, audit, opts.settle_timeout_ms);
  background.abort();
  await Promise.all([ticker, sampler]);
  last = (await audit()) ?? last;
  const settle_ms = Date.now() - t_settle;

  const sql = ctxSql;
  const rows = await sql<{ order_id: string; customer_id: string; qty: number; status: string }[]>`
    SELECT order_id, customer_id, qty, status FROM orders WHERE product_id = ${product.id}`;
  await sql.end();
  if (ctx.problems.length) during_problem = [during_problem, ...ctx.problems].filter(Boolean).join('; ');
  const verdict = checkHistory(history, rows, opts.stock_total);
  const ok =
    verdict.ok && last.ok && sampled_violations === 0 && during_problem === null && last.in_flight === 0;
  return {
    fault: name,
    describe: fault.describe,
    verdict,
    audit: last,
    samples,
    sampled_violations,
    window_violations,
    during_problem,
    settle_ms,
    ok,
  };
}

async function settle(
  tick: () => Promise<unknown>,
  audit: () => Promise<ChaosReport['audit'] | null>,
  timeout_ms: number,
): Promise<ChaosReport['audit']> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    await tick().catch(() => {});
    const a = await audit().catch(() => null);
    if (a && a.in_flight === 0 && a.ok) return a;
    if (Date.now() > deadline) {
      if (a) return a;
      throw new Error('the system did not settle: audit unavailable');
    }
    await sleep(1000);
  }
}

async function createProduct(
  baseUrl: string,
  admin: string,
  stock_total: number,
  settings: Fault['product'] = {},
): Promise<{ id: number }> {
  const r = await fetch(`${baseUrl}/api/admin/products`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      sku: `CHAOS-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
      name: 'chaos product',
      price_cents: 500,
      currency: 'EUR',
      stock_total,
      max_per_order: 2,
      ...settings,
    }),
  });
  if (r.status !== 201) throw new Error(`creating the chaos product failed: ${r.status} ${await r.text()}`);
  return (await r.json()) as { id: number };
}

async function auditOf(baseUrl: string, admin: string, id: number): Promise<ChaosReport['audit'] | null> {
  const r = await fetch(`${baseUrl}/api/admin/products/${id}/audit`, {
    headers: { authorization: `Bearer ${admin}` },
    signal: AbortSignal.timeout(3000),
  });
  if (r.status !== 200) return null;
  return (await r.json()) as ChaosReport['audit'];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function printReports(reports: ChaosReport[]): void {
  const rows = reports.map((r) => ({
    fault: r.fault,
    purchases: r.verdict.purchases,
    accepted: r.verdict.accepted,
    'sold out (409)': r.verdict.rejected_409,
    unknown: r.verdict.unknown,
    lost: r.verdict.lost.length,
    duplicated: r.verdict.duplicated_keys.length + r.verdict.keys_with_two_order_ids.length,
    oversold: r.verdict.oversold_units,
    'wrong answers': r.verdict.wrong_answers,
    drift: r.audit.drift,
    'settle ms': r.settle_ms,
    result: r.ok ? 'ok' : 'FAILED',
  }));
  console.table(rows);
}

// ---- actions the data-loss scenarios take inside the loss window ----

/** Waits (at most 20 s) until the product has an order in `status`. */
async function untilSome(ctx: FaultContext, status: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const [r] =
      await ctx.sql`SELECT 1 FROM orders WHERE product_id = ${ctx.product_id} AND status = ${status} LIMIT 1`;
    if (r) return;
    await sleep(250);
  }
}

/** Owners cancel up to `n` persisted reserved orders; each must answer 200 (or 409 if it expired). */
async function cancelSome(stack: Stack, ctx: FaultContext, n: number): Promise<void> {
  const orders = await ctx.sql<{ order_id: string; customer_id: string }[]>`
    SELECT order_id, customer_id FROM orders WHERE product_id = ${ctx.product_id} AND status = 'reserved' LIMIT ${n}`;
  if (orders.length === 0) ctx.problems.push('no reserved order to cancel in the loss window');
  for (const o of orders) {
    const r = await fetch(`${stack.baseUrl}/api/orders/${o.order_id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await mintToken({ customer_id: o.customer_id })}` },
    });
    if (r.status !== 200 && r.status !== 409) ctx.problems.push(`cancel ${o.order_id} answered ${r.status}`);
  }
}

/**
 * Signed webhooks for up to `n` orders in `status`, retried as a provider retries (503 + Retry-After
 * while the product is rebuilt) until a final answer; a success on an expired order must end
 * `paid` (units free) or `refund_required` (units gone), never anything else.
 */
async function paySome(
  stack: Stack,
  ctx: FaultContext,
  status: 'reserved' | 'expired',
  type: 'payment.succeeded' | 'payment.failed',
  n: number,
): Promise<void> {
  const orders = await ctx.sql<{ order_id: string; amount_cents: string; currency: string }[]>`
    SELECT order_id, amount_cents, currency FROM orders
    WHERE product_id = ${ctx.product_id} AND status = ${status} LIMIT ${n}`;
  if (orders.length === 0) ctx.problems.push(`no ${status} order to send ${type} for in the loss window`);
  await Promise.all(
    orders.map(async (o) => {
      const webhook_id = `msg_${randomUUID()}`;
      const body = JSON.stringify({
        type,
        data: {
          order_id: o.order_id,
          amount_cents: Number(o.amount_cents),
          currency: o.currency,
          payment_id: webhook_id,
        },
      });
      for (let attempt = 0; attempt < 120; attempt++) {
        const r = await fetch(`${stack.baseUrl}/api/payments/webhook`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'webhook-id': webhook_id,
            'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
            'webhook-signature': signWebhook(stack.env['WEBHOOK_SECRET']!, webhook_id, body),
          },
          body,
        }).catch(() => null);
        if (r?.status === 503 && r.headers.get('retry-after') === null) {
          ctx.problems.push('webhook 503 without Retry-After');
          return;
        }
        if (!r || r.status === 503) {
          await sleep(500);
          continue;
        }
        const res = (await r.json()) as { result?: string; status?: string };
        const fine = r.status === 200 && (res.result === 'applied' || res.result === 'ignored');
        if (!fine)
          ctx.problems.push(`${type} on a ${status} order answered ${r.status} ${JSON.stringify(res)}`);
        return;
      }
      const last = ctx.last_run as { rebuilt?: unknown } | string | null;
      const seen = typeof last === 'string' ? last : JSON.stringify(last?.rebuilt);
      ctx.problems.push(`${type} on ${o.order_id} never got a final answer; last release run: ${seen}`);
    }),
  );
}

/** A persisted order's message parked in the DLQ (as a poison-listed duplicate would be). */
async function dlqCopyOfAnOrder(stack: Stack, ctx: FaultContext): Promise<void> {
  const [o] = await ctx.sql<OrderRow[]>`
    SELECT ${ctx.sql(ORDER_COLUMNS)} FROM orders WHERE product_id = ${ctx.product_id} LIMIT 1`;
  if (!o) throw new Error('no persisted order to park in the DLQ yet');
  const message = acceptedFromRow(o);
  await localSqsClient(stack.queue!.endpoint).send(
    new SendMessageCommand({ QueueUrl: stack.env['ORDERS_DLQ_URL']!, MessageBody: JSON.stringify(message) }),
  );
}

interface Probe {
  method?: 'GET' | 'POST';
  path: string;
  token?: string;
}

const ask = (stack: Stack, { method = 'GET', path, token }: Probe) =>
  fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(20_000),
  }).catch((err: Error) => err);

/** Each probed function loaded before the fault: `during` then times its answer, not its cold start. */
async function warmUp(stack: Stack, probes: Probe[]): Promise<void> {
  await Promise.all(probes.map((p) => ask(stack, p).then((r) => (r instanceof Error ? null : r.text()))));
}

/** Routes beside the reserve that need Redis: a product, and a cancel of an order not persisted. */
async function redisProbes(ctx: FaultContext): Promise<Probe[]> {
  const buyer = await mintToken({ customer_id: `probe-${randomUUID()}` });
  return [
    { path: `/api/products/${ctx.product_id}` },
    // an id PostgreSQL does not hold: only Redis knows whether it waits in the outbox
    { method: 'POST', path: `/api/orders/${newOrderId(ctx.product_id)}/cancel`, token: buyer },
  ];
}

/** Routes that need PostgreSQL: a buyer's order list, the operator's stats. */
async function postgresProbes(): Promise<Probe[]> {
  return [
    { path: '/api/orders', token: await mintToken({ customer_id: `probe-${randomUUID()}` }) },
    { path: '/api/admin/stats', token: await mintToken({ customer_id: 'chaos-admin', admin: true }) },
  ];
}

/**
 * Routes beside the reserve the load drives, asked while a backing service is down: each must answer
 * 503 with `Retry-After: 1` and the problem+json `unavailable` (API.md), never a 500.
 */
async function answersUnavailable(stack: Stack, probes: Probe[]): Promise<string | null> {
  const wrong = await Promise.all(
    probes.map(async (p) => {
      const what = `${p.method ?? 'GET'} ${p.path}`;
      const r = await ask(stack, p);
      if (r instanceof Error) return `${what}: ${r.message}`;
      const type = r.headers.get('content-type') ?? '';
      const body = (await r.json().catch(() => null)) as { type?: string } | null;
      const retryAfter = r.headers.get('retry-after');
      const ok =
        r.status === 503 &&
        retryAfter === '1' &&
        type.startsWith('application/problem+json') &&
        body?.type === `${PROBLEM_BASE}unavailable`;
      return ok
        ? null
        : `${what} answered ${r.status} (Retry-After ${retryAfter}, ${type}): ${JSON.stringify(body)}`;
    }),
  );
  const problems = wrong.filter((w) => w !== null);
  return problems.length ? problems.join('; ') : null;
}

async function buyOnce(stack: Stack, product_id: number): Promise<number> {
  const r = await fetch(`${stack.baseUrl}/api/orders`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await mintToken({ customer_id: `probe-${randomUUID()}` })}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ product_id, qty: 1 }),
  });
  return r.status;
}
