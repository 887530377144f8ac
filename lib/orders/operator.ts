// What the operator must look at: money taken without stock, payments nobody could match.
import type { Sql } from './db';

export async function refundRequired(sql: Sql, limit = 100) {
  return sql<
    { order_id: string; product_id: string; customer_id: string; amount_cents: string; currency: string }[]
  >`
    SELECT order_id, product_id, customer_id, amount_cents, currency FROM orders
    WHERE status = 'refund_required' ORDER BY closed_at DESC LIMIT ${limit}`;
}

export async function orphanedPayments(sql: Sql, limit = 100) {
  return sql<
    { webhook_id: string; order_id: string; amount_cents: string; currency: string; received_at: Date }[]
  >`
    SELECT webhook_id, order_id, amount_cents, currency, received_at FROM payment_events
    WHERE status = 'orphaned' ORDER BY received_at DESC LIMIT ${limit}`;
}
