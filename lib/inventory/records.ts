// How the inventory's records look in Redis: TTLs, the sale hash's settings by name, the arguments
// the scripts share. Shared by the adapter's modules (inventory.ts, outbox-reads.ts, rebuild-ops.ts).
import type { ProductSnapshot, ReserveRequest } from '../sale/ports';
import type { Product } from '../sale/types';
import type { productKeys } from './keys';

/** Idempotency keys are kept at least this long (API.md: 24 hours). */
export const IDEMPOTENCY_TTL_S = 24 * 3600;
/** Order records outlive their idempotency keys so a replay can always return the original view. */
export const ORDER_RECORD_TTL_S = IDEMPOTENCY_TTL_S + 3600;
/** Slack for the caller's clock against Redis's (reserve.lua compares the two). */
export const CLOCK_SKEW_MAX_S = 5;

/** Two requests under one Idempotency-Key are "the same" when product and qty match. */
export function fingerprint(req: ReserveRequest): string {
  return `${req.product_id}:${req.qty}`;
}

/** The keys release.lua and retake.lua share. */
export const releaseKeys = (k: ReturnType<typeof productKeys>) => ({
  sale: k.sale,
  customers: k.customers,
  released: k.released,
});

/** The order arguments release, retake and reconcile share. */
export const orderArgs = (t: { order_id: string; qty: number; customer_id: string }) => ({
  order_id: t.order_id,
  qty: t.qty,
  customer_id: t.customer_id,
});

export const msOrNone = (d: Date | null) => (d === null ? -1 : d.getTime());
export const dateOrNull = (ms: string | undefined) =>
  ms === undefined || Number(ms) < 0 ? null : new Date(Number(ms));

/** Product id 0 is never a product (ids start at 1): the index's "written by a run" sentinel. */
export const INDEX_SENTINEL = 0;

/** The sale hash's settings, by name (never a positional list: a name or SKU may equal a field name). */
export function productSettings(p: Product): Record<string, string | number> {
  return {
    id: p.id,
    sku: p.sku,
    name: p.name,
    price_cents: p.price_cents,
    currency: p.currency,
    stock_total: p.stock_total,
    max_per_order: p.max_per_order,
    per_customer_limit: p.per_customer_limit ?? -1,
    ttl_s: p.reservation_ttl_s,
    starts_ms: msOrNone(p.sale_starts_at),
    ends_ms: msOrNone(p.sale_ends_at),
    paused: p.paused ? 1 : 0,
    settings_version: p.settings_version ?? 0,
  };
}

export const flatPairs = (fields: Record<string, string | number>) => Object.entries(fields).flat();

export const productFields = (p: Product) => flatPairs(productSettings(p));

export function snapshotFromHash(h: Record<string, string>): ProductSnapshot {
  const limit = Number(h['per_customer_limit']);
  const product: Product = {
    id: Number(h['id']),
    sku: h['sku'] ?? '',
    name: h['name'] ?? '',
    price_cents: Number(h['price_cents']),
    currency: h['currency'] ?? '',
    stock_total: Number(h['stock_total']),
    max_per_order: Number(h['max_per_order']),
    per_customer_limit: limit < 0 ? null : limit,
    reservation_ttl_s: Number(h['ttl_s']),
    sale_starts_at: dateOrNull(h['starts_ms']),
    sale_ends_at: dateOrNull(h['ends_ms']),
    paused: h['paused'] === '1',
  };
  return { product, available: Number(h['available']), in_flight: Number(h['in_flight'] ?? 0) };
}
