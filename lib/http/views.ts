// The JSON views of API.md. Field names are the contract: add, never rename.
import type { ProductSnapshot } from '../sale/ports';
import type { SaleStats } from '../sale/stats';
import { type Order, saleState } from '../sale/types';
import type { OrderView, ProductView, StatsView } from './view-schemas';

function iso(d: Date): string;
function iso(d: Date | null): string | null;
function iso(d: Date | null): string | null {
  return d === null ? null : d.toISOString();
}

export function orderView(o: Order, extra: Record<string, unknown> = {}): OrderView {
  return {
    order_id: o.order_id,
    status: o.status,
    product_id: o.product_id,
    customer_id: o.customer_id,
    qty: o.qty,
    unit_price_cents: o.unit_price_cents,
    amount_cents: o.amount_cents,
    currency: o.currency,
    created_at: iso(o.created_at),
    expires_at: iso(o.expires_at),
    paid_at: iso(o.paid_at),
    closed_at: iso(o.closed_at),
    ...extra,
  };
}

export function productView(s: ProductSnapshot, now_ms: number = Date.now()): ProductView {
  const p = s.product;
  return {
    id: p.id,
    sku: p.sku,
    name: p.name,
    price_cents: p.price_cents,
    currency: p.currency,
    stock_total: p.stock_total,
    available: s.available,
    max_per_order: p.max_per_order,
    per_customer_limit: p.per_customer_limit,
    reservation_ttl_s: p.reservation_ttl_s,
    sale: {
      starts_at: iso(p.sale_starts_at),
      ends_at: iso(p.sale_ends_at),
      paused: p.paused,
      state: saleState(p, now_ms),
    },
  };
}

export function statsView(s: SaleStats): StatsView {
  return { ...s, at: s.at.toISOString() };
}
