// Pins down concurrency on one customer over real HTTP: 50 simultaneous replays of one
// Idempotency-Key make exactly one order (one row in PostgreSQL), and 30 simultaneous orders
// against a per-customer limit of 3 accept exactly 3.
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { buyerToken, drained, newProduct, reserve } from '../helpers/api';
import { releaseRun } from '../helpers/domain';

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

/**
 * A reserve as a client following API.md makes it: a `503 unavailable` (overloaded, or a Redis call
 * past its timeout: outcome unknown) is retried with the same Idempotency-Key, which never reserves
 * twice. A loaded CI machine answered 5 of 50 with 503 (a Redis call over 1 s); anything else is
 * the answer.
 */
async function reserveRetryingUnavailable(token: string, product_id: number, qty: number, key: string) {
  for (let attempt = 1; ; attempt++) {
    const r = await reserve(token, product_id, qty, key);
    if (r.status !== 503 || attempt === 10) return r;
    expect(r.body.type).toBe('https://flash-sale.dev/problems/unavailable');
    await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
  }
}

it('50 concurrent POSTs with one Idempotency-Key and body: one order, units taken once, one row', async () => {
  const product = await newProduct({ stock_total: 20, max_per_order: 5 });
  const customer = `idem-${randomUUID()}`;
  const token = await buyerToken(customer);
  const key = `storm-${randomUUID()}`;

  const replies = await Promise.all(
    Array.from({ length: 50 }, () => reserveRetryingUnavailable(token, product.id, 3, key)),
  );

  expect(replies.map((r) => r.status)).toEqual(Array(50).fill(202));
  const ids = new Set(replies.map((r) => r.body.order_id));
  expect(ids.size).toBe(1);
  // At most one request made the reservation (none answered it when its reply was the 503: then
  // every 202 is a replay); every answer is the same order, byte for byte.
  const originals = replies.filter((r) => r.headers.get('idempotent-replayed') !== 'true');
  expect(originals.length).toBeLessThanOrEqual(1);
  for (const r of replies) expect(r.body).toEqual(replies[0]!.body);
  expect(replies[0]!.body).toMatchObject({ status: 'reserved', qty: 3, customer_id: customer });

  // An original whose reply was the 503 never sent its order (replays do not send): it waits in the
  // outbox for the release run, which the stack's schedule starts within a minute; run it now.
  await releaseRun();
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

  // Each under a key of its own, so a 503 (outcome unknown on a loaded machine) is retried safely.
  const replies = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      reserveRetryingUnavailable(token, product.id, 1, `${customer}-${i}`),
    ),
  );

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
