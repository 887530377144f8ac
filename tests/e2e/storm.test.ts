// Pins down "no oversell" and "no lost acceptance" over real HTTP: a 1,000-request storm from 60
// customers at stock 100 sells exactly 100 units, and PostgreSQL ends with exactly the 202s.
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { buyerToken, drained, newProduct, reserve } from '../helpers/api';

const sql = postgres(process.env['DATABASE_URL']!, { max: 2 });
afterAll(() => sql.end());

it('1,000 concurrent orders at stock 100: exactly 100 units accepted, the rest 409, all persisted once', async () => {
  const product = await newProduct({ stock_total: 100, max_per_order: 3 });
  const tokens = await Promise.all(
    Array.from({ length: 60 }, (_, i) => buyerToken(`storm-${product.id}-${i}`)),
  );
  const requests = Array.from({ length: 1000 }, (_, i) => ({
    token: tokens[i % tokens.length]!,
    qty: 1 + (i % 3),
  }));

  const replies = await Promise.all(requests.map((r) => reserve(r.token, product.id, r.qty)));

  const accepted = replies.filter((r) => r.status === 202);
  const others = replies.filter((r) => r.status !== 202);
  expect(others.map((r) => r.status).every((s) => s === 409)).toBe(true);
  expect(others.every((r) => r.body.type.endsWith('/insufficient-stock'))).toBe(true);
  const units = accepted.reduce((n, r) => n + r.body.qty, 0);
  expect(units).toBe(100);

  const a = await drained(product.id);
  expect(a).toMatchObject({ available: 0, reserved: 100, in_flight: 0, drift: 0, ok: true });

  const rows = await sql<{ order_id: string; qty: number }[]>`
    SELECT order_id, qty FROM orders WHERE product_id = ${product.id}`;
  expect(rows.map((r) => r.order_id).sort()).toEqual(accepted.map((r) => r.body.order_id).sort());
  const events = await sql`SELECT count(*)::int AS n FROM order_events e JOIN orders o USING (order_id)
    WHERE o.product_id = ${product.id} AND e.from_status IS NULL`;
  expect(events[0]!['n']).toBe(accepted.length);
});
