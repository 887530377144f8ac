// Runs a plan against the running local stack over HTTP, as buyers and the test payment provider
// would: reservations with Idempotency-Keys (double submits, retries of 503/429 with the same key),
// then each buyer's path. The command drives the release run itself (short TTLs, no waiting for the
// minute schedule), samples the sale for the picture, then settles until every order is final.
import type { AuditReport } from '../../lib/sale/audit';
import type { Buyer, Plan } from './plan';

export interface SimDeps {
  apiBase: string;
  sandboxUrl: string;
  adminToken: string;
  buyerToken(customer_id: string): Promise<string>;
  /** the release work now, over this product only (another sale on the stack keeps its own pace) */
  releaseRun(product_id: number): Promise<unknown>;
  statusUnits(product_id: number): Promise<Record<string, { orders: number; units: number }>>;
  persistedIds(product_id: number): Promise<Set<string>>;
  paymentEvents(order_ids: string[]): Promise<Record<string, number>>;
  audit(product_id: number): Promise<AuditReport | null>;
  say(line: string): void;
}

export interface Sample {
  t_ms: number;
  accepted_units: number;
  paid_units: number;
  released_units: number;
  available: number;
}

export interface SimResult {
  product_id: number;
  wall_ms: number;
  requests: Record<string, number>;
  statuses: Record<string, { orders: number; units: number }>;
  webhook_results: Record<string, number>;
  payment_events: Record<string, number>;
  accepted: number;
  lost: string[];
  double_reservations: number;
  unexplained: string[];
  audit: AuditReport | null;
  samples: Sample[];
}

const IN_FLIGHT_MAX = 64;
const RELEASE_EVERY_MS = 1000;
const SAMPLE_EVERY_MS = 500;
const PROGRESS_EVERY_MS = 3000;
const RETRIES_MAX = 5;
const SETTLE_TIMEOUT_MS = 60_000;
const RELEASED = ['expired', 'cancelled', 'payment_failed'];

interface Accepted {
  order_id: string;
  amount_cents: number;
  currency: string;
  expires_at: string;
}

export async function simulate(plan: Plan, deps: SimDeps): Promise<SimResult> {
  const t0 = Date.now();
  const product_id = await createProduct(plan, deps);
  deps.say(`product ${product_id}: stock ${plan.stock_total} for ${plan.demand_units} units demanded`);
  const state = newState();
  const http = limiter(IN_FLIGHT_MAX);
  // a failed tick is retried at the next one, and counted in the summary's requests
  const failed = (what: string) => () => count(state.requests, `${what} failed`);
  const loops = [
    every(RELEASE_EVERY_MS, () => deps.releaseRun(product_id), failed('release run')),
    every(
      SAMPLE_EVERY_MS,
      async () => state.samples.push(await sample(deps, product_id, state, t0)),
      failed('sample'),
    ),
    every(
      PROGRESS_EVERY_MS,
      async () => deps.say(progress(state, t0, plan.buyers.length)),
      failed('progress'),
    ),
  ];
  try {
    await Promise.all(
      plan.buyers.map(async (b) => {
        await sleepUntil(t0 + b.at_ms);
        await runBuyer(b, product_id, deps, http, state);
      }),
    );
    deps.say(`all ${plan.buyers.length} buyers done in ${Date.now() - t0} ms; settling`);
    await settle(deps, product_id, state);
  } finally {
    for (const stop of loops) await stop();
  }
  const last = await sample(deps, product_id, state, t0).catch(() => null);
  if (last) state.samples.push(last);
  return finish(deps, product_id, state, t0);
}

interface State {
  requests: Record<string, number>;
  accepted: Map<string, Accepted>;
  accepted_units: number;
  double_reservations: number;
  payment_ids: string[];
  arrived: number;
  samples: Sample[];
}

const newState = (): State => ({
  requests: {},
  accepted: new Map(),
  accepted_units: 0,
  double_reservations: 0,
  payment_ids: [],
  arrived: 0,
  samples: [],
});

async function createProduct(plan: Plan, deps: SimDeps): Promise<number> {
  const r = await fetch(`${deps.apiBase}/api/admin/products`, {
    method: 'POST',
    headers: { authorization: `Bearer ${deps.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      sku: `SIM-${plan.opts.seed}-${Date.now()}`,
      name: `Rehearsal (seed ${plan.opts.seed})`,
      price_cents: 4999,
      currency: 'EUR',
      stock_total: plan.stock_total,
      max_per_order: plan.max_per_order,
      reservation_ttl_s: plan.opts.reservation_ttl_s,
      sale_starts_at: new Date(Date.now() - 1000).toISOString(),
    }),
  });
  if (r.status !== 201) throw new Error(`creating the product failed: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { id: number }).id;
}

async function runBuyer(b: Buyer, product_id: number, deps: SimDeps, http: Limiter, s: State) {
  s.arrived++;
  const token = await deps.buyerToken(`sim-${product_id}-${b.n}`);
  const key = `sim-${product_id}-${b.n}`;
  const attempt = () =>
    http(() => reserveWithRetries(deps, token, { product_id, qty: b.qty }, key, s.requests));
  const replies = await Promise.all(b.double_submit ? [attempt(), attempt()] : [attempt()]);
  const orders = replies.filter((r): r is Accepted => r !== null);
  if (new Set(orders.map((o) => o.order_id)).size > 1) s.double_reservations++;
  const order = orders[0];
  if (!order) return;
  if (!s.accepted.has(order.order_id)) s.accepted_units += b.qty;
  s.accepted.set(order.order_id, order);
  const pay = async (outcome: 'succeed' | 'fail' | 'never') => {
    // Not behind the API's limiter: a delay-0 payment must race the order's persistence.
    const p = await providerPay(deps, order, outcome, b);
    if (p) s.payment_ids.push(p);
  };
  const cancel = async () => {
    await sleep(b.think_ms);
    const r = await http(() => post(deps.apiBase, `/api/orders/${order.order_id}/cancel`, token));
    count(s.requests, `cancel ${r.status}`);
  };
  switch (b.path) {
    case 'pay':
      return pay('succeed');
    case 'fail':
      return pay('fail');
    case 'abandon':
      return pay('never');
    case 'cancel':
      return cancel();
    case 'cancel_then_pay':
      await cancel();
      return pay('succeed'); // success after the customer's cancel: refund_required
    case 'late_pay':
      // after the expiry and a release run: re-takes the units if any are left, else refund_required
      await sleepUntil(Date.parse(order.expires_at) + RELEASE_EVERY_MS + b.think_ms);
      return pay('succeed');
  }
}

async function reserveWithRetries(
  deps: SimDeps,
  token: string,
  body: { product_id: number; qty: number },
  key: string,
  requests: Record<string, number>,
): Promise<Accepted | null> {
  for (let attempt = 0; ; attempt++) {
    const r = await post(deps.apiBase, '/api/orders', token, body, { 'idempotency-key': key });
    const json = (await r.json().catch(() => null)) as (Accepted & { type?: string }) | null;
    const code = json?.type?.split('/').pop();
    count(requests, `reserve ${r.status}${code ? ` ${code}` : ''}`);
    if (r.status === 202 || r.status === 200) return json;
    if ((r.status === 503 || r.status === 429) && attempt < RETRIES_MAX) {
      // the same Idempotency-Key: an unknown outcome is never reserved twice
      await sleep(Math.min(Number(r.headers.get('retry-after') ?? 1), 2) * 1000);
      continue;
    }
    return null;
  }
}

async function providerPay(
  deps: SimDeps,
  o: Accepted,
  outcome: 'succeed' | 'fail' | 'never',
  b: Buyer,
): Promise<string | null> {
  const r = await fetch(`${deps.sandboxUrl}/provider/payments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      order_id: o.order_id,
      amount_cents: o.amount_cents,
      currency: o.currency,
      outcome,
      ...b.webhooks,
    }),
  });
  if (r.status !== 202) throw new Error(`the test provider refused a payment: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { payment_id: string }).payment_id;
}

/** Until every webhook is delivered, every accepted order is a row and none is left reserved. */
async function settle(deps: SimDeps, product_id: number, s: State) {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const provider = (await (await fetch(`${deps.sandboxUrl}/provider/stats`)).json()) as { pending: number };
    await deps.releaseRun(product_id);
    const figures = await deps.statusUnits(product_id);
    const rows = Object.values(figures).reduce((n, f) => n + f.orders, 0);
    if (provider.pending === 0 && rows >= s.accepted.size && !figures['reserved']) return;
    if (Date.now() > deadline) {
      deps.say(`settling timed out: ${provider.pending} deliveries pending, ${rows}/${s.accepted.size} rows`);
      return;
    }
    await sleep(500);
  }
}

async function finish(deps: SimDeps, product_id: number, s: State, t0: number): Promise<SimResult> {
  const statuses = await deps.statusUnits(product_id);
  const persisted = await deps.persistedIds(product_id);
  const lost = [...s.accepted.keys()].filter((id) => !persisted.has(id));
  const webhook_results = await webhookResults(deps, s.payment_ids);
  const unexplained = Object.entries(statuses)
    .filter(([status]) => status === 'reserved')
    .map(([, f]) => `${f.orders} order(s) still reserved after settling`);
  return {
    product_id,
    wall_ms: Date.now() - t0,
    requests: s.requests,
    statuses,
    webhook_results,
    payment_events: await deps.paymentEvents([...s.accepted.keys()]),
    accepted: s.accepted.size,
    lost,
    double_reservations: s.double_reservations,
    unexplained,
    audit: await deps.audit(product_id),
    samples: s.samples,
  };
}

/** What the API answered the provider's deliveries (applied, pending, duplicate, ignored). */
async function webhookResults(deps: SimDeps, payment_ids: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const get = limiter(16);
  await Promise.all(
    payment_ids.map((id) =>
      get(async () => {
        const p = (await (await fetch(`${deps.sandboxUrl}/provider/payments/${id}`)).json()) as {
          attempts: { type: string; status: number | null; result: string | null }[];
        };
        for (const a of p.attempts) count(out, `${a.type.replace('payment.', '')} ${a.status} ${a.result}`);
      }),
    ),
  );
  return out;
}

async function sample(deps: SimDeps, product_id: number, s: State, t0: number): Promise<Sample> {
  const [figures, product] = await Promise.all([
    deps.statusUnits(product_id),
    fetch(`${deps.apiBase}/api/products/${product_id}`).then(
      (r) => r.json() as Promise<{ available?: number }>,
    ),
  ]);
  // an error answer under load has no figure: this sample is skipped, the next one counts
  if (typeof product.available !== 'number') throw new Error('no availability in this sample');
  return {
    t_ms: Date.now() - t0,
    accepted_units: s.accepted_units,
    paid_units: figures['paid']?.units ?? 0,
    released_units: RELEASED.reduce((n, st) => n + (figures[st]?.units ?? 0), 0),
    available: product.available,
  };
}

function progress(s: State, t0: number, buyers: number): string {
  const last = s.samples[s.samples.length - 1];
  return (
    `t=${((Date.now() - t0) / 1000).toFixed(0)}s arrived ${s.arrived}/${buyers} accepted ${s.accepted.size}` +
    (last ? ` paid ${last.paid_units}u released ${last.released_units}u available ${last.available}` : '')
  );
}

function post(
  base: string,
  path: string,
  token: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

type Limiter = <T>(fn: () => Promise<T>) => Promise<T>;

/** At most `max` calls in flight; the rest wait their turn in arrival order. */
function limiter(max: number): Limiter {
  let running = 0;
  const queue: (() => void)[] = [];
  return async (fn) => {
    if (running >= max) await new Promise<void>((r) => queue.push(r));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      queue.shift()?.();
    }
  };
}

/** Runs `fn` every `ms` (never overlapping itself); the returned stop waits for the last run. */
function every(ms: number, fn: () => Promise<unknown>, onError: () => void): () => Promise<void> {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await fn().catch(onError);
      await sleep(ms);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

const count = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const sleepUntil = (t_ms: number) => sleep(t_ms - Date.now());
