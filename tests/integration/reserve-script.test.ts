// Pins down that lua/reserve.lua is idempotent on the order id against real Redis: the same reserve
// command run twice, or many times at once (as ioredis resends an unanswered command), takes the
// units once, records one outbox entry and answers every repeat as a replay of the original.
import { randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { redisFromEnv } from '../../infra/local/stack';
import { redisInventory } from '../../lib/inventory/inventory';
import { productKeys } from '../../lib/inventory/keys';
import { registerScripts } from '../../lib/inventory/scripts';
import { AcceptedOrderSchema } from '../../lib/sale/accepted-order';
import { newOrderId } from '../../lib/sale/order-id';
import type { ReserveRequest } from '../../lib/sale/ports';
import { newProduct } from '../helpers/api';

const prefix = process.env['REDIS_KEY_PREFIX']!;
const redis = registerScripts(redisFromEnv(process.env as Record<string, string>));
const inv = redisInventory(redis, prefix);
afterAll(async () => {
  redis.disconnect();
});

async function counters(product_id: number, customer_id: string) {
  const k = productKeys(prefix, product_id);
  const [available, in_flight] = await redis.hmget(k.sale, 'available', 'in_flight');
  return {
    available: Number(available),
    in_flight: Number(in_flight),
    held: Number(await redis.hget(k.customers, customer_id)),
    outbox: await redis.zrange(k.outbox, '0', '-1'),
  };
}

it('the same order id twice: units taken once, the second call is a replay of the first', async () => {
  const product = await newProduct({ stock_total: 10 });
  const req: ReserveRequest = {
    order_id: newOrderId(product.id),
    product_id: product.id,
    customer_id: `c-${randomUUID()}`,
    qty: 3,
    idempotency_key: null,
  };

  const first = await inv.reserve(req);
  const second = await inv.reserve(req);

  if (first.kind !== 'reserved' || second.kind !== 'reserved')
    throw new Error('expected two reserved results');
  expect(first.replayed).toBe(false);
  expect(second.replayed).toBe(true);
  expect(second.accepted).toEqual(first.accepted);
  expect(first.accepted).toMatchObject({ order_id: req.order_id, qty: 3, customer_id: req.customer_id });
  expect(await counters(product.id, req.customer_id)).toEqual({
    available: 7,
    in_flight: 3,
    held: 3,
    outbox: [req.order_id],
  });
});

it('20 concurrent runs of one reserve command (no Idempotency-Key): exactly one takes the units', async () => {
  const product = await newProduct({ stock_total: 10, per_customer_limit: 4 });
  const req: ReserveRequest = {
    order_id: newOrderId(product.id),
    product_id: product.id,
    customer_id: `c-${randomUUID()}`,
    qty: 4,
    idempotency_key: null,
  };

  const results = await Promise.all(Array.from({ length: 20 }, () => inv.reserve(req)));

  const reserved = results.flatMap((r) => (r.kind === 'reserved' ? [r] : []));
  expect(reserved).toHaveLength(20); // a repeat is never mistaken for the customer limit or stock
  expect(reserved.filter((r) => !r.replayed)).toHaveLength(1);
  expect(new Set(reserved.map((r) => JSON.stringify(r.accepted))).size).toBe(1);
  expect(await counters(product.id, req.customer_id)).toEqual({
    available: 6,
    in_flight: 4,
    held: 4,
    outbox: [req.order_id],
  });
});

it('a client retry under the same Idempotency-Key (a fresh order id) replays the original', async () => {
  const product = await newProduct({ stock_total: 10 });
  const req: ReserveRequest = {
    order_id: newOrderId(product.id),
    product_id: product.id,
    customer_id: `c-${randomUUID()}`,
    qty: 2,
    idempotency_key: `k-${randomUUID()}`,
  };

  expect(await inv.reserve(req)).toMatchObject({ kind: 'reserved', replayed: false });
  const retry = await inv.reserve({ ...req, order_id: newOrderId(product.id) });
  expect(retry).toMatchObject({ kind: 'reserved', replayed: true, accepted: { order_id: req.order_id } });
  expect(await counters(product.id, req.customer_id)).toEqual({
    available: 8,
    in_flight: 2,
    held: 2,
    outbox: [req.order_id],
  });
});

it('what reserve.lua records is an accepted order by the schema the queue consumer parses with', async () => {
  const product = await newProduct({ stock_total: 10, price_cents: 1999 });
  const base = { product_id: product.id, customer_id: `c-${randomUUID()}`, qty: 1 };
  const plain: ReserveRequest = { ...base, order_id: newOrderId(product.id), idempotency_key: null };
  const keyed: ReserveRequest = { ...base, order_id: newOrderId(product.id), idempotency_key: 'k-1' };

  for (const req of [plain, keyed]) {
    const r = await inv.reserve(req);
    if (r.kind !== 'reserved') throw new Error(`expected reserved, got ${r.kind}`);
    // Exactly the schema's fields (strict): a field added in Lua only would fail every message.
    expect(AcceptedOrderSchema.parse(JSON.parse(JSON.stringify(r.accepted)))).toEqual(r.accepted);
    expect(r.accepted).toMatchObject({ unit_price_cents: 1999, generation: 0, seq: expect.any(Number) });
  }
  // cancel-pending.lua rewrites the record with its flag: the accepted order read back is unchanged.
  const flagged = await inv.cancelPending(keyed.order_id, product.id, keyed.customer_id);
  if (flagged.status !== 'flagged') throw new Error(`expected flagged, got ${flagged.status}`);
  expect(AcceptedOrderSchema.parse(flagged.accepted)).toMatchObject({ idempotency_key: 'k-1' });
});
