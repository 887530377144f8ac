// One chaos run: load with a recorded history, one fault injected and recovered mid-load, the
// release work ticking (as the schedule would, faster), then settle and check. Used by the fault
// tests and by `npm run chaos`.
import { setTimeout as delay } from 'node:timers/promises';
import postgres from 'postgres';
import { resetConfig } from '../../lib/config';
import { mintToken } from '../../lib/http/auth';
import type { Stack } from '../local/stack';
import { FAULTS, type Fault, type FaultContext } from './faults';
import { checkHistory, type HistoryVerdict, runLoad } from './history';

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
