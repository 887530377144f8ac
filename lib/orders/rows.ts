// Row <-> domain mapping, shared by the PostgreSQL modules.
import type { Order, OrderStatus, Product } from '../sale/types';
import type { Sql, Tx } from './db';

export interface ProductRow {
  id: string;
  sku: string;
  name: string;
  price_cents: string;
  currency: string;
  stock_total: number;
  max_per_order: number;
  per_customer_limit: number | null;
  reservation_ttl_s: number;
  sale_starts_at: Date | null;
  sale_ends_at: Date | null;
  paused: boolean;
  settings_version?: string;
}

export function productFromRow(r: ProductRow): Product {
  return {
    id: Number(r.id),
    sku: r.sku,
    name: r.name,
    price_cents: Number(r.price_cents),
    currency: r.currency,
    stock_total: r.stock_total,
    max_per_order: r.max_per_order,
    per_customer_limit: r.per_customer_limit,
    reservation_ttl_s: r.reservation_ttl_s,
    sale_starts_at: r.sale_starts_at,
    sale_ends_at: r.sale_ends_at,
    paused: r.paused,
    settings_version: Number(r.settings_version ?? 0),
  };
}

export interface OrderRow {
  order_id: string;
  status: OrderStatus;
  product_id: string;
  customer_id: string;
  qty: number;
  unit_price_cents: string;
  amount_cents: string;
  currency: string;
  created_at: Date;
  expires_at: Date;
  paid_at: Date | null;
  closed_at: Date | null;
}

export function orderFromRow(r: OrderRow): Order {
  return {
    ...r,
    product_id: Number(r.product_id),
    unit_price_cents: Number(r.unit_price_cents),
    amount_cents: Number(r.amount_cents),
  };
}

export const ORDER_COLUMNS = [
  'order_id',
  'status',
  'product_id',
  'customer_id',
  'qty',
  'unit_price_cents',
  'amount_cents',
  'currency',
  'created_at',
  'expires_at',
  'paid_at',
  'closed_at',
] as const;

/**
 * SQL: the order aliased `o` has a success stored pending that the payment rules apply to it (its
 * amount and currency, the code compared case-blind: lib/sale/order-rules.ts decidePayment; one for
 * another amount is ignored when applied). It arrived while the order was still on its way to
 * PostgreSQL, or persistOrders died before applying it (so, by API.md's table, for a `reserved`
 * order: it makes it `paid`), and is not applied yet (persistOrders applies it right after its
 * commit, the release run's stranded step otherwise). Expiry leaves such an order alone, and every
 * close that chooses between orders (units sold twice, a second order under one Idempotency-Key, a
 * straggler under a key: paidOrPaying, SettlementQueries.successWaiting) ranks it with the paid
 * ones: each would otherwise turn that payment into a refund.
 */
export const paymentWaiting = (sql: Sql | Tx) => sql`EXISTS (
  SELECT 1 FROM payment_events e
  WHERE e.order_id = o.order_id AND e.status = 'pending' AND e.type = 'payment.succeeded'
    AND e.amount_cents = o.amount_cents AND upper(e.currency) = o.currency)`;

/** SQL: the order aliased `o` is paid, or a success waits for it (paymentWaiting): a close spares it first. */
export const paidOrPaying = (sql: Sql | Tx) => sql`(o.status = 'paid' OR ${paymentWaiting(sql)})`;
