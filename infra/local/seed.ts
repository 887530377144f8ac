// The demo sale: two products like the reference project, plus a large-stock one for load tests.
// Seeded once (by SKU); a product already present is left alone.
import { createProduct } from '../../lib/sale/catalog';
import type { Inventory, ProductStore } from '../../lib/sale/ports';
import type { Product } from '../../lib/sale/types';

export const DEMO_PRODUCTS: Omit<Product, 'id'>[] = [
  {
    sku: 'CONSOLE-DROP',
    name: 'Game console, launch drop',
    price_cents: 49_900,
    currency: 'EUR',
    stock_total: 1000,
    max_per_order: 10,
    per_customer_limit: null,
    reservation_ttl_s: 120, // short enough to watch an unpaid reservation expire
    sale_starts_at: null,
    sale_ends_at: null,
    paused: false,
  },
  {
    sku: 'CONCERT-SEAT',
    name: 'Concert seat, front row',
    price_cents: 12_000,
    currency: 'EUR',
    stock_total: 200,
    max_per_order: 4,
    per_customer_limit: 4,
    reservation_ttl_s: 300,
    sale_starts_at: null,
    sale_ends_at: null,
    paused: false,
  },
  {
    sku: 'LOAD-TEST',
    name: 'Load-test item (large stock)',
    price_cents: 100,
    currency: 'EUR',
    stock_total: 10_000_000,
    max_per_order: 10,
    per_customer_limit: null,
    reservation_ttl_s: 600,
    sale_starts_at: null,
    sale_ends_at: null,
    paused: false,
  },
];

export async function seedDemo(
  deps: { inventory: Inventory; products: ProductStore & { list(): Promise<Product[]> } },
  say: (msg: string) => void,
): Promise<void> {
  const existing = new Set((await deps.products.list()).map((p) => p.sku));
  for (const p of DEMO_PRODUCTS) {
    if (existing.has(p.sku)) continue;
    const s = await createProduct(deps, p);
    say(`seeded product ${s.product.id} ${p.sku} (stock ${p.stock_total})`);
  }
}
