// What the operator must look at: money taken without stock, payments nobody could match, and
// successful payments that were not applied.
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

/**
 * Successful payments recorded `ignored` (API.md: a success on a paid or otherwise final order, or
 * for another amount) whose payment is not the one that paid the order: money taken for nothing, to
 * refund by hand. A provider's re-delivery of the paying payment under a new webhook-id is left out.
 */
export async function unappliedPayments(sql: Sql, limit = 100) {
  return sql<
    {
      webhook_id: string;
      order_id: string;
      payment_id: string;
      amount_cents: string;
      currency: string;
      reason: string | null;
      received_at: Date;
    }[]
  >`
    SELECT e.webhook_id, e.order_id, e.payment_id, e.amount_cents, e.currency, e.reason, e.received_at
    FROM payment_events e
    WHERE e.type = 'payment.succeeded' AND e.status = 'ignored'
      AND NOT EXISTS (
        SELECT 1 FROM payment_events paid
        WHERE paid.order_id = e.order_id AND paid.payment_id = e.payment_id
          AND paid.type = 'payment.succeeded' AND paid.status = 'applied')
    ORDER BY e.received_at DESC LIMIT ${limit}`;
}
