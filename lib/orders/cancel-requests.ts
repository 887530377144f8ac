// Cancels asked for before the order reached PostgreSQL (order_cancel_requests): recorded under
// the order id's advisory lock by the cancel, applied under the same lock once the order is a row,
// then stamped. The SQL only; lib/sale/cancel-order.ts decides.

import type { ProductScope } from '../sale/ports';
import type { OrderStatus } from '../sale/types';
import { type Sql, scopeFilter, type Tx } from './db';

/** Once per order: a second cancel of the same order (a retry) changes nothing. */
export async function recordCancelRequest(tx: Tx, order_id: string, customer_id: string): Promise<void> {
  await tx`INSERT INTO order_cancel_requests (order_id, customer_id) VALUES (${order_id}, ${customer_id})
    ON CONFLICT (order_id) DO NOTHING`;
}

/** A request of this order not applied yet; locks it, so a concurrent applier waits and finds it done. */
export async function cancelRequested(tx: Tx, order_id: string): Promise<boolean> {
  const rows = await tx`SELECT 1 FROM order_cancel_requests
    WHERE order_id = ${order_id} AND applied_at IS NULL FOR UPDATE`;
  return rows.length > 0;
}

export async function settleCancelRequest(
  tx: Tx,
  order_id: string,
  reason: string,
  order_status: OrderStatus,
): Promise<void> {
  await tx`UPDATE order_cancel_requests SET applied_at = now(), reason = ${reason},
    order_status = ${order_status} WHERE order_id = ${order_id} AND applied_at IS NULL`;
}

/** Of these orders, those with a request not applied yet. */
export async function requestedCancels(sql: Sql, order_ids: string[]): Promise<string[]> {
  if (order_ids.length === 0) return [];
  const rows = await sql<{ order_id: string }[]>`SELECT order_id FROM order_cancel_requests
    WHERE applied_at IS NULL AND order_id = ANY(${order_ids}::uuid[])`;
  return rows.map((r) => r.order_id);
}

/** Requests whose order is a row but that were not applied (persistOrders died after its commit). */
export async function strandedCancelOrders(sql: Sql, limit: number, scope: ProductScope): Promise<string[]> {
  const rows = await sql<{ order_id: string }[]>`
    SELECT r.order_id FROM order_cancel_requests r JOIN orders o USING (order_id)
    WHERE r.applied_at IS NULL ${scopeFilter(sql, 'o.product_id', scope)}
    ORDER BY r.requested_at LIMIT ${limit}`;
  return rows.map((r) => r.order_id);
}
