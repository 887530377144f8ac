// Pins down "no lost acceptance" when the SQS send fails: the reservation stands, sits in the Redis
// outbox, counts as in flight in the audit, its owner (and an admin, nobody else) reads it over HTTP
// before it reaches PostgreSQL, and a later re-send persists it exactly once.
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { inventory } from '../../lib/container';
import { closeRedis, redisClient } from '../../lib/inventory/client';
import { productKeys } from '../../lib/inventory/keys';
import { closeDb } from '../../lib/orders/db';
import { domainLog } from '../../lib/platform/logger';
import { sqsOrderQueue } from '../../lib/queue/sqs';
import { reserveOrder } from '../../lib/sale/reserve';
import type { AcceptedOrder } from '../../lib/sale/types';
import { adminToken, audit, buyerToken, call, drained, newProduct } from '../helpers/api';

const sql = postgres(process.env['DATABASE_URL']!, { max: 3 });
afterAll(async () => {
  await sql.end();
  await closeRedis();
  await closeDb();
});

it('SQS unreachable: still reserved, in the outbox, in flight, and readable by its owner before persistence', async () => {
  const product = await newProduct({ stock_total: 10, price_cents: 1250 });
  const customer = `c-${randomUUID()}`;
  const attempts: AcceptedOrder[] = [];
  const unreachable = {
    send: async (o: AcceptedOrder) => {
      attempts.push(o);
      throw new Error('connect ECONNREFUSED (test: SQS unreachable)');
    },
  };

  const outcome = await reserveOrder(
    { inventory: inventory(), queue: unreachable, log: domainLog },
    { customer_id: customer, product_id: product.id, qty: 2, idempotency_key: null },
  );
  if (outcome.kind !== 'reserved') throw new Error(`expected reserved, got ${outcome.kind}`);
  const { order } = outcome;
  expect(order).toMatchObject({ status: 'reserved', qty: 2, customer_id: customer, amount_cents: 2500 });
  expect(attempts.map((o) => o.order_id)).toEqual([order.order_id]); // the send was tried, once

  const keys = productKeys(process.env['REDIS_KEY_PREFIX']!, product.id);
  expect(await redisClient().zscore(keys.outbox, order.order_id)).not.toBeNull();
  expect(await sql`SELECT 1 FROM orders WHERE order_id = ${order.order_id}`).toHaveLength(0);
  expect(await audit(product.id)).toMatchObject({
    available: 8,
    reserved: 2,
    in_flight: 2,
    drift: 0,
    ok: true,
  });

  const path = `/api/orders/${order.order_id}`;
  const mine = await call('GET', path, { token: await buyerToken(customer) });
  expect(mine.status).toBe(200);
  expect(mine.body).toMatchObject({
    order_id: order.order_id,
    status: 'reserved',
    product_id: product.id,
    customer_id: customer,
    qty: 2,
    unit_price_cents: 1250,
    amount_cents: 2500,
    currency: 'EUR',
    created_at: order.created_at.toISOString(),
    expires_at: order.expires_at.toISOString(),
    paid_at: null,
    closed_at: null,
  });
  expect((await call('GET', path, { token: await adminToken() })).status).toBe(200);
  const stranger = await call('GET', path, { token: await buyerToken() });
  expect([stranger.status, stranger.body.type]).toEqual([
    404,
    'https://flash-sale.dev/problems/order-not-found',
  ]);
  // still not persisted: the reads above were served from the inventory's record
  expect(await sql`SELECT 1 FROM orders WHERE order_id = ${order.order_id}`).toHaveLength(0);

  // The outbox re-send (what the release run does) delivers it; it is persisted exactly once.
  const pending = await inventory().pendingOrder(order.order_id, product.id);
  if (!pending) throw new Error('order left the outbox without being persisted');
  expect(pending.accepted).toEqual(attempts[0]);
  await sqsOrderQueue().send(pending.accepted);
  await sqsOrderQueue().send(pending.accepted);
  expect(await drained(product.id)).toMatchObject({ available: 8, reserved: 2, in_flight: 0, ok: true });
  const rows = await sql`SELECT status, qty FROM orders WHERE order_id = ${order.order_id}`;
  expect(rows).toEqual([{ status: 'reserved', qty: 2 }]);
});
