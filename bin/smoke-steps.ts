// The smoke test's steps, over HTTP only (like any client): no database, Redis or AWS access, so it
// checks the stage as buyers and the payment provider reach it. See bin/smoke.ts.
import { randomUUID } from 'node:crypto';

/** The one product the smoke test ever touches. Price 0 and one unit per order: nothing to sell. */
export const SMOKE_PRODUCT = {
  sku: 'SMOKE-TEST',
  name: 'Smoke test (not for sale)',
  price_cents: 0,
  currency: 'EUR',
  stock_total: 2,
  max_per_order: 1,
  per_customer_limit: null,
  reservation_ttl_s: 300,
  paused: true,
} as const;

/** Units the run needs: one cancelled order, one paid order. */
const UNITS_NEEDED = 2;
/** The sale closes by itself after this even if the run dies while it is open. */
const OPEN_WINDOW_S = 60;
const POLL_MS = 250;

export interface SmokeOpts {
  base_url: string;
  admin_token: string;
  buyer_token: string;
  sign: (webhook_id: string, body: string, at: Date) => string;
  persist_timeout_ms: number;
  say: (line: string) => void;
}

/** Only the fields the smoke test reads (API.md's views carry more). */
interface Body {
  type?: string;
  result?: string;
  status?: string;
  ok?: boolean;
  in_flight?: number;
  items?: ProductView[];
}
interface ProductView {
  id: number;
  sku: string;
  price_cents: number;
  max_per_order: number;
  available: number;
  sale: { paused: boolean };
}
interface OrderView {
  order_id: string;
  amount_cents: number;
  currency: string;
  status: string;
}

interface Reply<T = Body> {
  status: number;
  body: T;
}

class StepFailed extends Error {}

export async function smokeRun(o: SmokeOpts): Promise<boolean> {
  const http = client(o);
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const v = await fn();
    o.say(`ok   ${name} (${Math.round(performance.now() - t0)} ms)`);
    return v;
  };
  let product_id: number | null = null;
  try {
    await step('GET /healthz and /readyz answer 200', async () => {
      expectStatus(await http('GET', '/healthz'), 200, 'healthz');
      expectStatus(await http('GET', '/readyz'), 200, 'readyz');
    });
    const product = await step(`smoke product ${SMOKE_PRODUCT.sku} found or created`, () =>
      smokeProduct(http),
    );
    product_id = product.id;
    const id = product_id;
    await step('paused and stocked for the run', () => prepare(http, id, product.available));
    await step('a buyer is refused while it is paused (409 sale-paused)', () => expectPaused(http, id));
    const [a, b] = await step('two orders reserved (202) in a short open window', () => reserveTwo(http, id));
    await step('paused again', () => setPaused(http, id, true));
    await step('order read back by its owner (200)', async () => {
      const r = expectStatus(await http('GET', `/api/orders/${a.order_id}`, { token: 'buyer' }), 200, 'read');
      const read = as<OrderView>(r);
      if (read.order_id !== a.order_id) throw new StepFailed(`read returned ${read.order_id}`);
    });
    await step('first order cancelled (200, or 202 while still on its way)', async () => {
      const r = await http('POST', `/api/orders/${a.order_id}/cancel`, { token: 'buyer' });
      if (r.status !== 200 && r.status !== 202) fail('cancel', r);
    });
    await step('second order paid through a signed test webhook', () => pay(http, o, b));
    await step('orders persisted: cancelled and paid', () =>
      untilStatuses(http, { [a.order_id]: 'cancelled', [b.order_id]: 'paid' }, o.persist_timeout_ms),
    );
    await step('audit ok (drift 0, nothing in flight)', () => untilAuditOk(http, id, o.persist_timeout_ms));
    await step('stock topped up for the next run', () => topUp(http, id));
    await step('a buyer is refused again (409 sale-paused)', () => expectPaused(http, id));
    return true;
  } catch (err) {
    o.say(`FAIL ${(err as Error).message}`);
    // Whatever failed, the smoke product must not stay open to buyers.
    if (product_id !== null) await setPaused(http, product_id, true).catch(() => {});
    return false;
  }
}

type Http = (
  method: string,
  path: string,
  opts?: { token?: 'admin' | 'buyer'; body?: unknown; headers?: Record<string, string>; raw?: string },
) => Promise<Reply>;

const as = <T>(r: Reply): T => r.body as unknown as T;

function client(o: SmokeOpts): Http {
  return async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token)
      headers['authorization'] = `Bearer ${opts.token === 'admin' ? o.admin_token : o.buyer_token}`;
    const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${o.base_url}${path}`, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text for the failure message
    }
    return { status: res.status, body: parsed as Body };
  };
}

function fail(what: string, r: Reply): never {
  throw new StepFailed(`${what}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
}

function expectStatus(r: Reply, status: number, what: string): Reply {
  if (r.status !== status) fail(what, r);
  return r;
}

/** Finds the smoke product by SKU; refuses a product with that SKU that is not shaped like one. */
async function smokeProduct(http: Http): Promise<ProductView> {
  const list = expectStatus(await http('GET', '/api/products'), 200, 'list products');
  const found = (list.body.items ?? []).find((p) => p.sku === SMOKE_PRODUCT.sku);
  if (found) {
    if (found.price_cents !== 0 || found.max_per_order !== 1) {
      throw new StepFailed(
        `${SMOKE_PRODUCT.sku} exists but is not a smoke product (price or limit); refusing`,
      );
    }
    return found;
  }
  const r = await http('POST', '/api/admin/products', { token: 'admin', body: SMOKE_PRODUCT });
  return as<ProductView>(expectStatus(r, 201, 'create smoke product'));
}

async function setPaused(http: Http, id: number, paused: boolean, extra: Record<string, unknown> = {}) {
  const r = await http('PATCH', `/api/admin/products/${id}`, { token: 'admin', body: { paused, ...extra } });
  expectStatus(r, 200, paused ? 'pause' : 'open');
}

/** Closed first (a run that died may have left it open), then enough units for this run. */
async function prepare(http: Http, id: number, available: number): Promise<void> {
  await setPaused(http, id, true);
  if (available < UNITS_NEEDED) {
    const r = await http('PATCH', `/api/admin/products/${id}`, {
      token: 'admin',
      body: { stock_delta: UNITS_NEEDED - available },
    });
    expectStatus(r, 200, 'stock top-up');
  }
}

async function expectPaused(http: Http, id: number): Promise<void> {
  const r = await reserve(http, id);
  if (r.status !== 409 || !String(r.body?.type).endsWith('/sale-paused')) fail('reserve while paused', r);
}

const reserve = (http: Http, id: number) =>
  http('POST', '/api/orders', {
    token: 'buyer',
    body: { product_id: id, qty: 1 },
    headers: { 'idempotency-key': `smoke-${randomUUID()}` },
  });

async function reserveTwo(http: Http, id: number): Promise<[OrderView, OrderView]> {
  const ends_at = new Date(Date.now() + OPEN_WINDOW_S * 1000).toISOString();
  await setPaused(http, id, false, { sale_ends_at: ends_at });
  try {
    const a = as<OrderView>(expectStatus(await reserve(http, id), 202, 'first reserve'));
    const b = as<OrderView>(expectStatus(await reserve(http, id), 202, 'second reserve'));
    return [a, b];
  } finally {
    await setPaused(http, id, true);
  }
}

async function pay(http: Http, o: SmokeOpts, order: OrderView): Promise<void> {
  const webhook_id = `msg_smoke_${randomUUID()}`;
  const raw = JSON.stringify({
    type: 'payment.succeeded',
    data: {
      order_id: order.order_id,
      amount_cents: order.amount_cents,
      currency: order.currency,
      payment_id: `smoke_${randomUUID()}`,
    },
  });
  const at = new Date();
  const r = await http('POST', '/api/payments/webhook', {
    raw,
    headers: {
      'webhook-id': webhook_id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': o.sign(webhook_id, raw, at),
    },
  });
  const accepted =
    (r.status === 200 && r.body?.result === 'applied') || (r.status === 202 && r.body?.result === 'pending');
  if (!accepted) fail('payment webhook', r);
}

async function untilStatuses(http: Http, want: Record<string, string>, timeout_ms: number): Promise<void> {
  await until(timeout_ms, 'orders to reach their final status', async () => {
    const seen = await Promise.all(
      Object.keys(want).map(
        async (id) => (await http('GET', `/api/orders/${id}`, { token: 'buyer' })).body?.status,
      ),
    );
    return Object.values(want).every((s, i) => seen[i] === s) ? true : `seen ${seen.join(', ')}`;
  });
}

async function untilAuditOk(http: Http, id: number, timeout_ms: number): Promise<void> {
  await until(timeout_ms, 'the audit to settle', async () => {
    const r = expectStatus(
      await http('GET', `/api/admin/products/${id}/audit`, { token: 'admin' }),
      200,
      'audit',
    );
    return r.body.ok === true && r.body.in_flight === 0 ? true : JSON.stringify(r.body);
  });
}

/** The paid unit is gone for good; adding one back keeps `available` at UNITS_NEEDED. */
async function topUp(http: Http, id: number): Promise<void> {
  const r = await http('PATCH', `/api/admin/products/${id}`, { token: 'admin', body: { stock_delta: 1 } });
  const p = as<ProductView>(expectStatus(r, 200, 'stock top-up'));
  if (p.available < UNITS_NEEDED || p.sale.paused !== true) fail('after top-up', r);
}

async function until(timeout_ms: number, what: string, check: () => Promise<true | string>): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  let last = '';
  for (;;) {
    const r = await check();
    if (r === true) return;
    last = r;
    if (Date.now() > deadline) throw new StepFailed(`timed out waiting for ${what}: ${last}`);
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
}
