// Benchmark only: the reference project's first design, serving the same request as POST
// /api/orders (same auth, same body validation, same access log) by locking the product row in
// PostgreSQL per order: BEGIN; SELECT ... FOR UPDATE; UPDATE stock; INSERT order; COMMIT.
// It works on its own tables (schema `bench`, created by the harness), never the product's.
import { randomUUID } from 'node:crypto';
import { Problem } from '../../lib/http/problems';
import { json, route } from '../../lib/http/route';
import { CreateOrderBody } from '../../lib/http/schemas';
import { db } from '../../lib/orders/db';

export const ROW_LOCK_SCHEMA_SQL = `
  CREATE SCHEMA IF NOT EXISTS bench;
  CREATE TABLE IF NOT EXISTS bench.products (
    id integer PRIMARY KEY, stock integer NOT NULL CHECK (stock >= 0));
  CREATE TABLE IF NOT EXISTS bench.orders (
    order_id uuid PRIMARY KEY, product_id integer NOT NULL REFERENCES bench.products (id),
    customer_id text NOT NULL, qty integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now());`;

type Outcome = { kind: 'reserved'; order_id: string } | { kind: 'sold_out'; available: number } | null;

export const handler = route({ auth: 'buyer', body: CreateOrderBody }, async ({ identity, body }) => {
  const outcome = await db().begin(async (tx): Promise<Outcome> => {
    const [row] = await tx<{ stock: number }[]>`
      SELECT stock FROM bench.products WHERE id = ${body.product_id} FOR UPDATE`;
    if (!row) return null;
    if (row.stock < body.qty) return { kind: 'sold_out', available: row.stock };
    await tx`UPDATE bench.products SET stock = stock - ${body.qty} WHERE id = ${body.product_id}`;
    const order_id = randomUUID();
    await tx`INSERT INTO bench.orders (order_id, product_id, customer_id, qty)
      VALUES (${order_id}, ${body.product_id}, ${identity.customer_id}, ${body.qty})`;
    return { kind: 'reserved', order_id };
  });
  if (!outcome) throw new Problem('product-not-found', 'no product with this id');
  if (outcome.kind === 'sold_out')
    throw new Problem('insufficient-stock', 'not enough stock', { available: outcome.available });
  return json(202, { order_id: outcome.order_id, status: 'reserved', qty: body.qty });
});
