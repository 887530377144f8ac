// One chaos run: load with a recorded history, one fault injected and recovered mid-load, the
// release work ticking (as the schedule would, faster), then settle and check. Used by the fault
// tests and by `npm run chaos`.
import postgres from 'postgres';
import { resetConfig } from '../../lib/config';
import { mintToken } from '../../lib/http/auth';
import {
  dropRedisConnections,
  killFunctions,
  killRedis,
  restartFunctions,
  restartPostgres,
  restartQueue,
  restartRedis,
  stopPostgres,
  stopQueue,
  wipeRedis,
} from '../local/faults';
import type { Stack } from '../local/stack';
import { checkHistory, type HistoryVerdict, runLoad } from './history';

export interface Fault {
  describe: string;
  inject(stack: Stack): Promise<void>;
  hold_ms: number;
  recover(stack: Stack): Promise<void>;
  /** checked while the fault is active */
  during?(stack: Stack): Promise<string | null>;
}

const noop = async () => {};

export const FAULTS: Record<string, Fault> = {
  none: { describe: 'no fault (baseline)', inject: noop, hold_ms: 0, recover: noop },
  'redis-kill': {
    describe: 'kill -9 Redis mid-load, restart it from its AOF',
    inject: killRedis,
    hold_ms: 2000,
    recover: restartRedis,
  },
  'redis-wipe': {
    describe: 'Redis loses all its data mid-sale; the release run rebuilds from PostgreSQL',
    inject: wipeRedis,
    hold_ms: 0,
    recover: noop,
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
    inject: stopPostgres,
    hold_ms: 5000,
    recover: restartPostgres,
    async during(stack) {
      const r = await fetch(`${stack.baseUrl}/readyz`).catch(() => null);
      if (!r) return 'readyz did not answer';
      const body = (await r.json()) as { down?: string[] };
      return r.status === 503 && body.down?.includes('postgres') ? null : `readyz said ${r.status}`;
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
  const product = await createProduct(stack.baseUrl, admin, opts.stock_total);
  const audit = () => auditOf(stack.baseUrl, admin, product.id);

  let stopBackground = false;
  const ticker = (async () => {
    while (!stopBackground) {
      await tick().catch(() => {}); // dependencies may be down: the next tick retries
      await sleep(1500);
    }
  })();
  let samples = 0;
  let sampled_violations = 0;
  const sampler = (async () => {
    while (!stopBackground) {
      const a = await audit().catch(() => null);
      if (a && a.drift !== undefined) {
        samples++;
        if (a.reserved + a.paid > a.stock_total || a.available < 0) sampled_violations++;
      }
      await sleep(400);
    }
  })();

  let during_problem: string | null = null;
  const faultRun = (async () => {
    await sleep(opts.duration_ms / 3);
    say(`fault ${name}: ${fault.describe}`);
    await fault.inject(stack);
    const t_end = Date.now() + fault.hold_ms;
    if (fault.during) {
      await sleep(Math.min(1500, fault.hold_ms / 2));
      during_problem = await fault.during(stack);
    }
    await sleep(Math.max(0, t_end - Date.now()));
    await fault.recover(stack);
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
  stopBackground = true;
  await Promise.all([ticker, sampler]);
  last = (await audit()) ?? last;
  const settle_ms = Date.now() - t_settle;

  const sql = postgres(stack.env['DATABASE_URL']!, { max: 1, onnotice: () => {} });
  const rows = await sql<{ order_id: string; customer_id: string; qty: number; status: string }[]>`
    SELECT order_id, customer_id, qty, status FROM orders WHERE product_id = ${product.id}`;
  await sql.end();
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

async function createProduct(baseUrl: string, admin: string, stock_total: number): Promise<{ id: number }> {
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
