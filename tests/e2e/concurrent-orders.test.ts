// Pins down concurrency on one customer over real HTTP: 50 simultaneous replays of one
// Idempotency-Key make exactly one order (one row in PostgreSQL), and 30 simultaneous orders
// against a per-customer limit of 3 accept exactly 3.
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { buyerToken, drained, newProduct, reserve } from '../helpers/api';

const sql = postgres(process.env['DATABASE_URL']!, { max: 2 });
afterAll(() => sql.end());

const rowsOf = (product_id: number) =>
  sql<{ order_id: string; customer_id: string; qty: number; status: string }[]>`
    SELECT order_id, customer_id, qty, status FROM orders WHERE product_id = ${product_id}`;
const creationEventsOf = async (product_id: number) =>
  (
    await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM order_events e JOIN orders o USING (order_id)
      WHERE o.product_id = ${product_id} AND e.from_status IS NULL`
  )[0]!.n;

it('50 concurrent POSTs with one Idempotency-Key and body: one order, units taken once, one row', async () => {
  const product = await newProduct({ stock_total: 20, max_per_order: 5 });
  const customer = `idem-${randomUUID()}`;
  const token = await buyerToken(customer);
  const key = `storm-${randomUUID()}`;

  const replies = await Promise.all(Array.from({ length: 50 }, () => reserve(token, product.id, 3, key)));

  expect(replies.map((r) => r.status)).toEqual(Array(50).fill(202));
  const ids = new Set(replies.map((r) => r.body.order_id));
  expect(ids.size).toBe(1);
  // exactly one request made the reservation; every other one is a replay of it, byte for byte
  const originals = replies.filter((r) => r.headers.get('idempotent-replayed') !== 'true');
  expect(originals).toHaveLength(1);
  for (const r of replies) expect(r.body).toEqual(originals[0]!.body);
  expect(originals[0]!.body).toMatchObject({ status: 'reserved', qty: 3, customer_id: customer });

  const a = await drained(product.id);
  expect(a).toMatchObject({ stock_total: 20, available: 17, reserved: 3, in_flight: 0, drift: 0, ok: true });
  const rows = await rowsOf(product.id);
  expect(rows).toEqual([{ order_id: [...ids][0], customer_id: customer, qty: 3, status: 'reserved' }]);
  expect(await creationEventsOf(product.id)).toBe(1);
});

it('per_customer_limit 3: 30 concurrent qty-1 orders from one customer accept exactly 3', async () => {
  const product = await newProduct({ stock_total: 100, per_customer_limit: 3 });
  const customer = `limit-${randomUUID()}`;
  const token = await buyerToken(customer);

  const replies = await Promise.all(Array.from({ length: 30 }, () => reserve(token, product.id, 1)));

  const accepted = replies.filter((r) => r.status === 202);
  const refused = replies.filter((r) => r.status !== 202);
  expect(accepted).toHaveLength(3);
  expect(new Set(accepted.map((r) => r.body.order_id)).size).toBe(3);
  expect(refused.map((r) => [r.status, r.body.type, r.body.remaining])).toEqual(
    Array(27).fill([409, 'https://flash-sale.dev/problems/customer-limit-reached', 0]),
  );

  const a = await drained(product.id);
  expect(a).toMatchObject({ available: 97, reserved: 3, in_flight: 0, drift: 0, ok: true });
  const rows = await rowsOf(product.id);
  expect(rows.map((r) => r.order_id).sort()).toEqual(accepted.map((r) => r.body.order_id).sort());
  expect(rows.every((r) => r.customer_id === customer && r.qty === 1)).toBe(true);
  expect(await creationEventsOf(product.id)).toBe(3);

  // the limit holds after persistence too: the customer still cannot buy a fourth unit
  const fourth = await reserve(token, product.id, 1);
  expect([fourth.status, fourth.body.remaining]).toEqual([409, 0]);
});
