// Pins down the order lifecycle over HTTP: payments, failures, expiry, late payment, cancels and
// the audit trail, each ending with the stock invariant intact (audit ok).
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../infra/local/sandbox/sign';
import { audit, buyerToken, call, drained, newProduct, reserve } from '../helpers/api';
import { releaseRun, reserveUnsent, waitUntil } from '../helpers/domain';
import { sendWebhook } from '../helpers/webhook';

const sql = postgres(process.env['DATABASE_URL']!, { max: 2 });
afterAll(() => sql.end());

async function persistedStatus(order_id: string): Promise<string | null> {
  const [r] = await sql<{ status: string }[]>`SELECT status FROM orders WHERE order_id = ${order_id}`;
  return r?.status ?? null;
}

/**
 * The order's reservation runs out now. PostgreSQL alone decides expiry (the release run takes rows
 * with `expires_at < now()`), so moving this one row's deadline into the past is the clock moving on
 * for this order, without sleeping out a TTL and without touching any other test's orders.
 */
async function reservationLapses(order_id: string): Promise<void> {
  const r = await sql`UPDATE orders SET expires_at = now() - interval '1 second'
    WHERE order_id = ${order_id} AND status = 'reserved'`;
  expect(r.count).toBe(1);
}

async function reservedAndPersisted(product: any, qty = 1, customer?: string) {
  const token = await buyerToken(customer);
  const r = await reserve(token, product.id, qty);
  expect(r.status).toBe(202);
  await drained(product.id);
  return { token, order: r.body };
}

describe('payments', () => {
  it('success flow: reserved -> paid, units stay taken, audit ok, transitions recorded', async () => {
    const product = await newProduct({ stock_total: 5 });
    const { token, order } = await reservedAndPersisted(product, 2);
    const w = await sendWebhook(order.order_id, { amount_cents: order.amount_cents });
    expect(w.status).toBe(200);
    expect(w.body).toMatchObject({ result: 'applied', status: 'paid' });
    const got = await call('GET', `/api/orders/${order.order_id}`, { token });
    expect(got.body.status).toBe('paid');
    expect(got.body.paid_at).not.toBeNull();
    expect(await audit(product.id)).toMatchObject({ available: 3, paid: 2, reserved: 0, ok: true });
    const events =
      await sql`SELECT from_status, to_status, actor FROM order_events WHERE order_id = ${order.order_id} ORDER BY id`;
    expect(events.map((e) => `${e['from_status']}->${e['to_status']}`)).toEqual([
      'null->reserved',
      'reserved->paid',
    ]);
    expect(events[1]!['actor']).toMatch(/^payment:/);
  });

  it('failed payment restores the stock, and a new buyer gets the freed unit', async () => {
    const product = await newProduct({ stock_total: 1 });
    const { order } = await reservedAndPersisted(product, 1);
    const soldOut = await reserve(await buyerToken(), product.id, 1);
    expect(soldOut.status).toBe(409);
    const w = await sendWebhook(order.order_id, { type: 'payment.failed', amount_cents: order.amount_cents });
    expect(w.body).toMatchObject({ result: 'applied', status: 'payment_failed' });
    expect((await audit(product.id)).available).toBe(1);
    const next = await reserve(await buyerToken(), product.id, 1);
    expect(next.status).toBe(202);
    expect(await drained(product.id)).toMatchObject({ available: 0, reserved: 1, ok: true });
  });

  it('duplicate webhook changes nothing', async () => {
    const product = await newProduct({ stock_total: 3 });
    const { order } = await reservedAndPersisted(product);
    const first = await sendWebhook(order.order_id, {
      amount_cents: order.amount_cents,
      webhook_id: `dup-${order.order_id}`,
    });
    const again = await sendWebhook(order.order_id, {
      amount_cents: order.amount_cents,
      webhook_id: `dup-${order.order_id}`,
    });
    expect(first.body.result).toBe('applied');
    expect(again.status).toBe(200);
    expect(again.body.result).toBe('duplicate');
    const n = await sql`SELECT count(*)::int AS n FROM order_events WHERE order_id = ${order.order_id}`;
    expect(n[0]!['n']).toBe(2);
  });

  it('bad signature and stale timestamp are 401 and change nothing', async () => {
    const product = await newProduct({ stock_total: 3 });
    const { order } = await reservedAndPersisted(product);
    const bad = await sendWebhook(order.order_id, { amount_cents: order.amount_cents, signature: 'v1,AAAA' });
    expect(bad.status).toBe(401);
    expect(bad.body.type).toMatch(/invalid-signature$/);
    const wrongKey = await sendWebhook(order.order_id, {
      amount_cents: order.amount_cents,
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    });
    expect(wrongKey.status).toBe(401);
    const stale = await sendWebhook(order.order_id, {
      amount_cents: order.amount_cents,
      timestamp: new Date(Date.now() - 6 * 60_000),
    });
    expect(stale.status).toBe(401);
    expect(await persistedStatus(order.order_id)).toBe('reserved');
    // Unverified requests cost no row (they are counted and sampled in Redis: webhook-door.test.ts).
    const receipts = await sql`SELECT count(*)::int AS n FROM webhook_receipts
      WHERE body_excerpt LIKE ${`%${order.order_id}%`}`;
    expect(receipts[0]!['n']).toBe(0);
  });

  it('several signatures (key rotation): one valid signature among them is enough', async () => {
    const product = await newProduct({ stock_total: 3 });
    const { order } = await reservedAndPersisted(product);
    const id = `rot-${order.order_id}`;
    const now = new Date();
    const body = JSON.stringify({
      type: 'payment.succeeded',
      data: {
        order_id: order.order_id,
        amount_cents: order.amount_cents,
        currency: 'EUR',
        payment_id: 'p-rot',
      },
    });
    const old = signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', id, body, now);
    const current = signWebhook(process.env['WEBHOOK_SECRET']!, id, body, now);
    const r = await call('POST', '/api/payments/webhook', {
      rawBody: body,
      headers: {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': `${old} ${current}`,
      },
    });
    expect(r.body).toMatchObject({ result: 'applied', status: 'paid' });
  });

  it('a pending event never matched within 24 hours is marked orphaned for the operator', async () => {
    const ghost = '00000000-0000-8000-8000-0000000000ff';
    const w = await sendWebhook(ghost, { amount_cents: 100, webhook_id: `ghost-${Date.now()}` });
    expect(w.status).toBe(202);
    await sql`UPDATE payment_events SET received_at = now() - interval '25 hours'
      WHERE order_id = ${ghost} AND status = 'pending'`;
    await releaseRun(); // orphaning belongs to no product: every run does it, scoped or not
    const [e] = await sql`SELECT status FROM payment_events WHERE order_id = ${ghost}`;
    expect(e!['status']).toBe('orphaned');
  });

  it('amount or currency mismatch never marks paid', async () => {
    const product = await newProduct({ stock_total: 3 });
    const { order } = await reservedAndPersisted(product);
    const less = await sendWebhook(order.order_id, { amount_cents: order.amount_cents - 1 });
    expect(less.body).toMatchObject({ result: 'ignored', status: 'reserved' });
    expect(less.body.reason).toMatch(/mismatch/);
    const usd = await sendWebhook(order.order_id, { amount_cents: order.amount_cents, currency: 'USD' });
    expect(usd.body.result).toBe('ignored');
    expect(await persistedStatus(order.order_id)).toBe('reserved');
  });

  it('unsigned junk is 401 (signature first); a signed malformed body is 400', async () => {
    const junk = await call('POST', '/api/payments/webhook', { rawBody: '{"type":"nope"}' });
    expect(junk.status).toBe(401);
    const body = '{"type":"payment.refunded","data":{}}';
    const id = `malformed-${Date.now()}`;
    const now = new Date();
    const r = await call('POST', '/api/payments/webhook', {
      rawBody: body,
      headers: {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signWebhook(process.env['WEBHOOK_SECRET']!, id, body, now),
      },
    });
    expect(r.status).toBe(400);
    expect(r.body.type).toMatch(/invalid-request$/);
    expect(r.body.errors.map((e: any) => e.field)).toContain('type');
    // Correctly signed but not JSON at all: still the sender's 400, never a 401.
    const notJson = '{"type": "payment.succeeded", ';
    const id2 = `not-json-${Date.now()}`;
    const r2 = await call('POST', '/api/payments/webhook', {
      rawBody: notJson,
      headers: {
        'webhook-id': id2,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signWebhook(process.env['WEBHOOK_SECRET']!, id2, notJson, now),
      },
    });
    expect(r2.status).toBe(400);
    expect(r2.body.type).toMatch(/invalid-request$/);
  });

  it('webhook for an unknown order is recorded (202 pending) and applied once the order is persisted', async () => {
    const product = await newProduct({ stock_total: 2 });
    const order = await reserveUnsent(`early-${product.id}`, product.id, 1);
    const w = await sendWebhook(order.order_id, { amount_cents: order.amount_cents });
    expect(w.status).toBe(202);
    expect(w.body.result).toBe('pending');
    await releaseRun(); // re-sends the outbox entry; the trigger persists it and applies the event
    await waitUntil('order paid', async () => (await persistedStatus(order.order_id)) === 'paid');
    expect(await drained(product.id)).toMatchObject({ paid: 1, reserved: 0, available: 1, ok: true });
  });

  it('failure after success is ignored, with no stock effect', async () => {
    const product = await newProduct({ stock_total: 2 });
    const { order } = await reservedAndPersisted(product);
    await sendWebhook(order.order_id, { amount_cents: order.amount_cents });
    const fail = await sendWebhook(order.order_id, {
      type: 'payment.failed',
      amount_cents: order.amount_cents,
    });
    expect(fail.body).toMatchObject({ result: 'ignored', status: 'paid' });
    expect(await audit(product.id)).toMatchObject({ paid: 1, available: 1, ok: true });
  });
});

describe('expiry and late payment', () => {
  it('an expired order releases its units; late success re-takes them when available -> paid', async () => {
    const product = await newProduct({ stock_total: 2 });
    const { order } = await reservedAndPersisted(product, 2);
    await reservationLapses(order.order_id);
    await releaseRun();
    expect(await persistedStatus(order.order_id)).toBe('expired');
    expect((await audit(product.id)).available).toBe(2);
    const late = await sendWebhook(order.order_id, { amount_cents: order.amount_cents });
    expect(late.body).toMatchObject({ result: 'applied', status: 'paid' });
    expect(await audit(product.id)).toMatchObject({ available: 0, paid: 2, ok: true });
  });

  it('late success when the customer bought again up to the limit -> refund_required, limit kept', async () => {
    const product = await newProduct({
      stock_total: 10,
      per_customer_limit: 2,
      max_per_order: 2,
    });
    const customer = `relimit-${product.id}`;
    const { token, order } = await reservedAndPersisted(product, 2, customer);
    await reservationLapses(order.order_id);
    await releaseRun();
    expect(await persistedStatus(order.order_id)).toBe('expired');
    expect((await reserve(token, product.id, 2)).status).toBe(202);
    const late = await sendWebhook(order.order_id, { amount_cents: order.amount_cents });
    expect(late.body).toMatchObject({ result: 'applied', status: 'refund_required' });
    expect(await drained(product.id)).toMatchObject({ available: 8, reserved: 2, paid: 0, ok: true });
  });

  it('late success when the units are gone -> refund_required, stock untouched', async () => {
    const product = await newProduct({ stock_total: 1 });
    const { order } = await reservedAndPersisted(product, 1);
    await reservationLapses(order.order_id);
    await releaseRun();
    const other = await reserve(await buyerToken(), product.id, 1);
    expect(other.status).toBe(202);
    const late = await sendWebhook(order.order_id, { amount_cents: order.amount_cents });
    expect(late.body).toMatchObject({ result: 'applied', status: 'refund_required' });
    expect(await drained(product.id)).toMatchObject({ available: 0, reserved: 1, paid: 0, ok: true });
  });
});

describe('cancel', () => {
  it('cancel then pay -> refund_required; units back exactly once', async () => {
    const product = await newProduct({ stock_total: 3 });
    const { token, order } = await reservedAndPersisted(product, 2);
    const c = await call('POST', `/api/orders/${order.order_id}/cancel`, { token });
    expect(c.status).toBe(200);
    expect(c.body.status).toBe('cancelled');
    const again = await call('POST', `/api/orders/${order.order_id}/cancel`, { token });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ status: 409, order_status: 'cancelled' });
    expect(again.body.type).toMatch(/order-not-cancellable$/);
    const pay = await sendWebhook(order.order_id, { amount_cents: order.amount_cents });
    expect(pay.body).toMatchObject({ result: 'applied', status: 'refund_required' });
    expect(await audit(product.id)).toMatchObject({ available: 3, reserved: 0, paid: 0, ok: true });
  });

  it('a cancel gives the customer their per-customer allowance back with the units', async () => {
    const product = await newProduct({ stock_total: 10, per_customer_limit: 2, max_per_order: 2 });
    const customer = `allowance-${product.id}`;
    const { token, order } = await reservedAndPersisted(product, 2, customer);
    const more = await reserve(token, product.id, 1);
    expect(more.status).toBe(409);
    expect(more.body).toMatchObject({ remaining: 0 });
    expect((await call('POST', `/api/orders/${order.order_id}/cancel`, { token })).status).toBe(200);
    expect((await reserve(token, product.id, 2)).status).toBe(202);
  });

  it("someone else's cancel is 404 and changes nothing", async () => {
    const product = await newProduct({ stock_total: 3 });
    const { order } = await reservedAndPersisted(product);
    const r = await call('POST', `/api/orders/${order.order_id}/cancel`, { token: await buyerToken() });
    expect(r.status).toBe(404);
    expect(await persistedStatus(order.order_id)).toBe('reserved');
  });

  it('cancel before persistence: 202 cancel_pending, cancelled once persisted, units back once', async () => {
    const product = await newProduct({ stock_total: 4 });
    const customer = `early-cancel-${product.id}`;
    const order = await reserveUnsent(customer, product.id, 3);
    const token = await buyerToken(customer);
    const c = await call('POST', `/api/orders/${order.order_id}/cancel`, { token });
    expect(c.status).toBe(202);
    expect(c.body).toMatchObject({ status: 'reserved', cancel_pending: true });
    await releaseRun(); // re-send the outbox entry
    await waitUntil('order cancelled', async () => (await persistedStatus(order.order_id)) === 'cancelled');
    await releaseRun(); // a second run must not release again
    expect(await drained(product.id)).toMatchObject({ available: 4, reserved: 0, ok: true });
  });
});

describe('admin', () => {
  it('paused sale -> 409 sale-paused at once; unpausing sells again', async () => {
    const product = await newProduct({ stock_total: 3 });
    const admin = await (await import('../helpers/api')).adminToken();
    const p = await call('PATCH', `/api/admin/products/${product.id}`, {
      token: admin,
      body: { paused: true },
    });
    expect(p.status).toBe(200);
    expect(p.body.sale).toMatchObject({ paused: true, state: 'paused' });
    const r = await reserve(await buyerToken(), product.id, 1);
    expect(r.status).toBe(409);
    expect(r.body.type).toMatch(/sale-paused$/);
    await call('PATCH', `/api/admin/products/${product.id}`, { token: admin, body: { paused: false } });
    expect((await reserve(await buyerToken(), product.id, 1)).status).toBe(202);
  });

  it('stock_delta adjusts atomically and never takes available below 0', async () => {
    const product = await newProduct({ stock_total: 3 });
    const admin = await (await import('../helpers/api')).adminToken();
    await reservedAndPersisted(product, 2);
    const tooMuch = await call('PATCH', `/api/admin/products/${product.id}`, {
      token: admin,
      body: { stock_delta: -2 },
    });
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body).toMatchObject({ available: 1 });
    const ok = await call('PATCH', `/api/admin/products/${product.id}`, {
      token: admin,
      body: { stock_delta: 5 },
    });
    expect(ok.body).toMatchObject({ stock_total: 8, available: 6 });
    expect(await audit(product.id)).toMatchObject({ stock_total: 8, ok: true });
    const bad = await call('PATCH', `/api/admin/products/${product.id}`, {
      token: admin,
      body: { stock_delta: 'x' },
    });
    expect(bad.status).toBe(400);
  });
});

describe('my orders', () => {
  it('lists only the caller’s orders, newest first, with a cursor', async () => {
    const product = await newProduct({ stock_total: 10 });
    const token = await buyerToken();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await reserve(token, product.id, 1)).body.order_id);
    await reserve(await buyerToken(), product.id, 1);
    await drained(product.id);
    const p1 = await call('GET', '/api/orders?limit=2', { token });
    expect(p1.body.items.map((o: any) => o.order_id)).toEqual([ids[2], ids[1]]);
    const p2 = await call('GET', `/api/orders?limit=2&cursor=${p1.body.next_cursor}`, { token });
    expect(p2.body.items.map((o: any) => o.order_id)).toEqual([ids[0]]);
    expect(p2.body.next_cursor).toBeNull();
    for (const bad of ['0', '101', '1.5', 'abc', '']) {
      const r = await call('GET', `/api/orders?limit=${bad}`, { token });
      expect({ limit: bad, status: r.status, errors: r.body.errors }).toEqual({
        limit: bad,
        status: 400,
        errors: [{ field: 'limit', message: 'an integer from 1 to 100' }],
      });
    }
    expect((await call('GET', '/api/orders?cursor=zzz', { token })).status).toBe(400);
    // A tampered cursor (valid base64url, wrong content) is 400 naming the cursor, never a 500.
    const [at, id] = JSON.parse(Buffer.from(p1.body.next_cursor, 'base64url').toString('utf8'));
    for (const forged of [[at, 'not-a-uuid'], ['yesterday', id], { at, id }, null, [at]]) {
      const cursor = Buffer.from(JSON.stringify(forged)).toString('base64url');
      const r = await call('GET', `/api/orders?cursor=${cursor}`, { token });
      expect({ forged, status: r.status }).toEqual({ forged, status: 400 });
      expect(r.body.errors[0].field).toBe('cursor');
    }
  });
});

describe('customer ids', () => {
  it('a customer id past U+FFFF (emoji) is persisted like any other (the emulator refused its message)', async () => {
    const product = await newProduct({ stock_total: 3 });
    const customer = `buyer-😀-𠀋-é-${randomUUID()}`;
    const token = await buyerToken(customer);
    const r = await reserve(token, product.id, 1);
    expect(r.status).toBe(202);
    // Before: every send and re-send was refused (InvalidMessageContents); in_flight stayed 1.
    expect(await drained(product.id, 15_000)).toMatchObject({ in_flight: 0, reserved: 1, ok: true });
    const [row] = await sql<{ customer_id: string }[]>`
      SELECT customer_id FROM orders WHERE order_id = ${r.body.order_id}`;
    expect(row?.customer_id).toBe(customer);
    const mine = await call('GET', '/api/orders', { token });
    expect(mine.body.items.map((o: any) => o.order_id)).toEqual([r.body.order_id]);
  });
});
