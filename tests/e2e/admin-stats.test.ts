// Pins down GET /api/admin/stats: admin only (401 without a token, 403 with a buyer's), its query
// validated like a body, and for a fresh product after some orders the same figures as the audit,
// the order rate over the last 10 s (persisted orders and those still in the outbox, each once),
// and the backlog.
import { describe, expect, it } from 'vitest';
import { adminToken, audit, buyerToken, call, drained, newProduct, reserve } from '../helpers/api';
import { reserveUnsent, waitUntil } from '../helpers/domain';
import { sendWebhook } from '../helpers/webhook';

const AUDIT_FIELDS = ['stock_total', 'available', 'reserved', 'paid', 'in_flight', 'drift', 'ok'] as const;
const pick = (o: any) => Object.fromEntries(AUDIT_FIELDS.map((k) => [k, o[k]]));

async function stats(query = '') {
  return call('GET', `/api/admin/stats${query}`, { token: await adminToken() });
}

describe('GET /api/admin/stats', () => {
  it('needs an admin token: 401 without one, 403 with a buyer token', async () => {
    const none = await call('GET', '/api/admin/stats');
    expect(none.status).toBe(401);
    expect(none.body.type).toMatch(/\/unauthorized$/);
    const buyer = await call('GET', '/api/admin/stats', { token: await buyerToken() });
    expect(buyer.status).toBe(403);
    expect(buyer.body.type).toMatch(/\/forbidden$/);
  });

  it('validates its query: 400 naming the parameter', async () => {
    for (const [q, field] of [
      ['?limit=0', 'limit'],
      ['?limit=201', 'limit'],
      ['?product_id=abc', 'product_id'],
      ['?colour=red', 'colour'],
    ]) {
      const r = await stats(q);
      expect(r.status, q).toBe(400);
      expect(
        r.body.errors.map((e: any) => e.field),
        q,
      ).toContain(field);
    }
  });

  it('matches the audit of a fresh product after orders, payments and a cancel', async () => {
    const product = await newProduct({ stock_total: 20 });
    const t0 = Date.now();
    const buyers = await Promise.all([buyerToken(), buyerToken(), buyerToken()]);
    const orders = [];
    for (const [i, qty] of [2, 3, 1, 4].entries()) {
      const r = await reserve(buyers[i % 3]!, product.id, qty);
      expect(r.status).toBe(202);
      orders.push(r.body);
    }
    await drained(product.id);
    expect((await sendWebhook(orders[1].order_id, { amount_cents: orders[1].amount_cents })).status).toBe(
      200,
    );
    const cancel = await call('POST', `/api/orders/${orders[3].order_id}/cancel`, { token: buyers[0]! });
    expect(cancel.status).toBe(200);

    const before = await audit(product.id);
    const r = await stats(`?product_id=${product.id}`);
    const elapsed_s = (Date.now() - t0) / 1000;
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body.products).toHaveLength(1);
    const p = r.body.products[0];
    expect(p).toMatchObject({
      product_id: product.id,
      sku: product.sku,
      name: product.name,
      state: 'live',
      stock_total: 20,
      available: 14, // 20 - 3 reserved (2 + 1) - 3 paid; the 4 cancelled are back
      reserved: 3,
      paid: 3,
      in_flight: 0,
      outbox: 0,
      drift: 0,
      ok: true,
    });
    expect(pick(p)).toEqual(pick(before));
    // Four orders in the last 10 s, all in PostgreSQL by now (the window may have moved on).
    if (elapsed_s < 9) expect(p.orders_per_s).toBe(0.4);
    expect(r.body.window_s).toBe(10);
    expect(r.body.ok).toBe(true);
    expect(Date.parse(r.body.at)).toBeGreaterThanOrEqual(t0);
  });

  it('counts an order still in the outbox once: in flight, in the outbox and in the rate', async () => {
    const product = await newProduct({ stock_total: 10 });
    const t0 = Date.now();
    // Accepted by Redis, but the queue send "failed": only the outbox knows it (a release run would
    // re-send it; other files' runs never touch this file's products, the schedule's only after 30 s).
    await reserveUnsent(`c-${crypto.randomUUID()}`, product.id, 2);
    const persisted = await reserve(await buyerToken(), product.id, 1);
    expect(persisted.status).toBe(202);
    await waitUntil('the sent order in PostgreSQL', async () => (await audit(product.id)).in_flight <= 2);
    const before = await audit(product.id);
    const r = await stats(`?product_id=${product.id}`);
    const elapsed_s = (Date.now() - t0) / 1000;
    const p = r.body.products[0];
    expect(p).toMatchObject({ available: 7, reserved: 3, drift: 0, ok: true });
    expect(before.in_flight, 'the unsent order is still in flight').toBe(2);
    expect(pick(p)).toEqual(pick(before));
    expect(p.outbox).toBe(1);
    expect(r.body.backlog.outbox).toBe(1);
    if (elapsed_s < 9) expect(p.orders_per_s).toBe(0.2);
  });

  it('lists the newest products (ascending ids), with totals and the queue backlog', async () => {
    await newProduct({ stock_total: 5 });
    const newest = await newProduct({ stock_total: 7 });
    const r = await stats('?limit=1');
    expect(r.status).toBe(200);
    expect(r.body.products_total).toBeGreaterThanOrEqual(2);
    expect(r.body.products).toHaveLength(1);
    expect(r.body.products[0].product_id).toBeGreaterThanOrEqual(newest.id);

    const all = await stats('?limit=200');
    const ps: any[] = all.body.products;
    expect(ps.map((p) => p.product_id)).toEqual([...ps.map((p) => p.product_id)].sort((a, b) => a - b));
    for (const k of ['stock_total', 'available', 'reserved', 'paid', 'in_flight', 'drift'] as const) {
      expect(all.body.totals[k], k).toBe(ps.reduce((n, p) => n + p[k], 0));
    }
    expect(all.body.backlog.outbox).toBe(ps.reduce((n, p) => n + p.outbox, 0));
    expect(all.body.backlog.queue).toEqual(expect.any(Number));
    expect(all.body.backlog.dlq).toEqual(expect.any(Number));
  });
});
