// Pins down that bad data cannot block the queue (issue 11, item 6): a price that Lua's cjson or
// price × qty could not carry exactly is refused at the door, and an accepted order PostgreSQL
// refuses to store fails alone — quarantined for the operator, its units back on sale, its
// batch-mates persisted, and no failure reported, so it never sits in the DLQ.
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { inventory, settleDeps } from '../../lib/container';
import { orderLockKey } from '../../lib/orders/db';
import { newOrderId } from '../../lib/sale/order-id';
import { PRICE_CENTS_MAX } from '../../lib/sale/types';
import { adminToken, audit, call, newProduct } from '../helpers/api';
import { fileBackends } from '../helpers/backends';
import {
  persistInProcess,
  reservedQuarantinable,
  reservedUnsent,
  sqsEvent,
  sqsRecord,
} from '../helpers/in-flight';
import { sendWebhook } from '../helpers/webhook';

const { sql } = fileBackends();

const createWithPrice = async (price_cents: number) =>
  call('POST', '/api/admin/products', {
    token: await adminToken(),
    body: { sku: `T-${randomUUID()}`, name: 'priced', price_cents, currency: 'EUR', stock_total: 1 },
  });

it('price_cents above the documented cap is refused with 400 naming the field; the cap itself is accepted', async () => {
  const over = await createWithPrice(PRICE_CENTS_MAX + 1);
  expect(over.status).toBe(400);
  expect(JSON.stringify(over.body)).toContain('price_cents');
  expect((await createWithPrice(PRICE_CENTS_MAX)).status).toBe(201);
});

it('an order PostgreSQL refuses (a NUL in its customer id) is quarantined alone, units released, nothing fails', async () => {
  const product = await newProduct({ stock_total: 10 });
  const good = await reservedUnsent(product.id, 2);
  const r = await inventory().reserve({
    order_id: newOrderId(product.id),
    product_id: product.id,
    customer_id: 'bad\u0000customer',
    qty: 3,
    idempotency_key: null,
  });
  if (r.kind !== 'reserved') throw new Error(`reserve failed: ${r.kind}`);
  const bad = r.accepted;

  const res = await persistInProcess(
    sqsEvent([sqsRecord(JSON.stringify(bad)), sqsRecord(JSON.stringify(good))]),
  );

  expect(res.batchItemFailures, 'handled, not retried into the DLQ').toEqual([]);
  const rows = await sql`SELECT order_id FROM orders WHERE order_id IN (${good.order_id}, ${bad.order_id})`;
  expect(rows.map((x) => x['order_id'])).toEqual([good.order_id]);
  const [q] = await sql`SELECT qty, reason, message FROM quarantined_orders WHERE order_id = ${bad.order_id}`;
  expect(q).toBeDefined();
  expect(Number(q!['qty'])).toBe(3);
  expect(q!['reason']).toMatch(/^22/);
  expect(await audit(product.id)).toMatchObject({
    available: 8,
    reserved: 2,
    in_flight: 0,
    drift: 0,
    ok: true,
  });

  // Delivered again (the message came back anyway): still one quarantine row, units released once.
  const again = await persistInProcess(sqsEvent([sqsRecord(JSON.stringify(bad))]));
  expect(again.batchItemFailures).toEqual([]);
  expect(await audit(product.id)).toMatchObject({ available: 8, ok: true });
});

it('a payment for a quarantined order is orphaned by the next release run, for a refund (before, it waited 24 h as if its order might still come)', async () => {
  const product = await newProduct({ stock_total: 2 });
  const bad = await reservedQuarantinable(product.id);
  expect((await persistInProcess(sqsEvent([sqsRecord(JSON.stringify(bad))]))).batchItemFailures).toEqual([]);
  const paid = await sendWebhook(bad.order_id, { amount_cents: bad.unit_price_cents * bad.qty });
  expect(paid.status, JSON.stringify(paid.body)).toBeLessThan(300);
  // An early payment for an order still on its way (unknown to PostgreSQL, not quarantined).
  const on_its_way = newOrderId(product.id);
  const early = await sendWebhook(on_its_way, { amount_cents: 100 });
  expect(early.status, JSON.stringify(early.body)).toBeLessThan(300);

  await settleDeps().settlement.orphanStalePayments(24);
  const [e] = await sql`SELECT status, reason FROM payment_events WHERE order_id = ${bad.order_id}`;
  expect(e, 'the success is stored').toBeDefined();
  expect(e!['status'], 'before: pending for 24 h').toBe('orphaned');
  expect(e!['reason']).toMatch(/quarantined/);
  const [w] = await sql`SELECT status FROM payment_events WHERE order_id = ${on_its_way}`;
  expect(w?.['status'], 'an order that may still come keeps its payment waiting').toBe('pending');
});

it('a stale payment whose order is being inserted is not orphaned: the insert holds the order lock, and the payment is applied by it', async () => {
  const product = await newProduct({ stock_total: 1 });
  const order = await reservedUnsent(product.id, 1);
  const early = await sendWebhook(order.order_id, { amount_cents: order.unit_price_cents * order.qty });
  expect(early.status, JSON.stringify(early.body)).toBe(202);
  // A message that took a day (a DLQ redrive): the payment is old enough to be orphaned.
  await sql`UPDATE payment_events SET received_at = now() - interval '25 hours' WHERE order_id = ${order.order_id}`;

  // persistOrders holds the order's lock from before its insert until its commit (its insert is not
  // visible meanwhile); the orphaning step runs in that window.
  const orphaned = await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${orderLockKey(tx, order.order_id)})`;
    return settleDeps().settlement.orphanStalePayments(24);
  });
  const [e] = await sql`SELECT status FROM payment_events WHERE order_id = ${order.order_id}`;
  expect(e!['status'], 'before: orphaned while its order was being inserted').toBe('pending');
  expect(orphaned).toBe(0);

  expect((await persistInProcess(sqsEvent([sqsRecord(JSON.stringify(order))]))).batchItemFailures).toEqual(
    [],
  );
  const [o] = await sql`SELECT status FROM orders WHERE order_id = ${order.order_id}`;
  expect(o!['status']).toBe('paid');
  expect(await audit(product.id)).toMatchObject({ drift: 0, ok: true });
});
