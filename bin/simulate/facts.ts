// What PostgreSQL says about one rehearsed product: units and orders per status, which accepted
// orders are rows, and what became of the payment events sent for its orders.
import type { Sql } from '../../lib/orders/db';

export interface StatusFigures {
  orders: number;
  units: number;
}

export async function statusFigures(sql: Sql, product_id: number): Promise<Record<string, StatusFigures>> {
  const rows = await sql<{ status: string; orders: number; units: number }[]>`
    SELECT status, count(*)::int AS orders, coalesce(sum(qty), 0)::int AS units
    FROM orders WHERE product_id = ${product_id} GROUP BY status`;
  return Object.fromEntries(rows.map((r) => [r.status, { orders: r.orders, units: r.units }]));
}

export async function persistedIds(sql: Sql, product_id: number): Promise<Set<string>> {
  const rows = await sql<
    { order_id: string }[]
  >`SELECT order_id FROM orders WHERE product_id = ${product_id}`;
  return new Set(rows.map((r) => r.order_id));
}

/** Payment events of the product's orders by status (pending and orphaned need the operator). */
export async function paymentEventFigures(sql: Sql, order_ids: string[]): Promise<Record<string, number>> {
  if (!order_ids.length) return {};
  const rows = await sql<{ status: string; n: number }[]>`
    SELECT status, count(*)::int AS n FROM payment_events
    WHERE order_id = ANY(${order_ids}::uuid[]) GROUP BY status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
