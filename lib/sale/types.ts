// The domain's vocabulary. Nothing here knows about Redis, SQL, SQS or HTTP.
import type { AcceptedOrder } from './accepted-order';

// The accepted order's one definition is its schema (./accepted-order.ts); re-exported for the
// modules that take it with the rest of this vocabulary.
export type { AcceptedOrder } from './accepted-order';

export const ORDER_STATUSES = [
  'reserved',
  'expired',
  'cancelled',
  'paid',
  'payment_failed',
  'refund_required',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/**
 * The highest unit price accepted (minor units). The reserve script copies the price through Lua's
 * cjson, which keeps 14 significant digits, and an order's amount is price × qty with qty at most
 * max_per_order (1000): 10^11 keeps both exact (and far below 2^53 and PostgreSQL's bigint).
 */
export const PRICE_CENTS_MAX = 100_000_000_000;

/**
 * The most units a product may hold (stock_total): what a create accepts, and what a stock_delta may
 * raise it to (PostgreSQL's integer column ends at 2^31 − 1; past it a PATCH answered 500).
 */
export const STOCK_TOTAL_MAX = 100_000_000;

export interface Product {
  id: number;
  sku: string;
  name: string;
  price_cents: number;
  currency: string;
  stock_total: number;
  max_per_order: number;
  per_customer_limit: number | null;
  reservation_ttl_s: number;
  sale_starts_at: Date | null;
  sale_ends_at: Date | null;
  paused: boolean;
  /** bumped by every settings change; Redis never applies an older one over a newer (0 when new) */
  settings_version?: number;
}

export type SaleState = 'upcoming' | 'live' | 'paused' | 'ended';

export interface Order {
  order_id: string;
  status: OrderStatus;
  product_id: number;
  customer_id: string;
  qty: number;
  unit_price_cents: number;
  amount_cents: number;
  currency: string;
  created_at: Date;
  expires_at: Date;
  paid_at: Date | null;
  closed_at: Date | null;
}

export function orderFromAccepted(a: AcceptedOrder): Order {
  return {
    order_id: a.order_id,
    status: 'reserved',
    product_id: a.product_id,
    customer_id: a.customer_id,
    qty: a.qty,
    unit_price_cents: a.unit_price_cents,
    amount_cents: a.unit_price_cents * a.qty,
    currency: a.currency,
    created_at: new Date(a.created_ms),
    expires_at: new Date(a.expires_ms),
    paid_at: null,
    closed_at: null,
  };
}

/**
 * The accepted order (the queue's message) behind a reserved order, the inverse of
 * `orderFromAccepted`: without the generation and sequence only reserve.lua knows, with the
 * Idempotency-Key it was placed under when there was one (a rebuild restores its replay).
 */
export function acceptedFromOrder(o: Order, idempotency_key: string | null = null): AcceptedOrder {
  return {
    order_id: o.order_id,
    product_id: o.product_id,
    customer_id: o.customer_id,
    qty: o.qty,
    unit_price_cents: o.unit_price_cents,
    currency: o.currency,
    created_ms: o.created_at.getTime(),
    expires_ms: o.expires_at.getTime(),
    ...(idempotency_key ? { idempotency_key } : {}),
  };
}

/** Ended wins over paused, paused over upcoming: reserve.lua refuses an order in the same order. */
export function saleState(
  p: Pick<Product, 'paused' | 'sale_starts_at' | 'sale_ends_at'>,
  now_ms: number,
): SaleState {
  if (p.sale_ends_at && now_ms >= p.sale_ends_at.getTime()) return 'ended';
  if (p.paused) return 'paused';
  if (p.sale_starts_at && now_ms < p.sale_starts_at.getTime()) return 'upcoming';
  return 'live';
}
