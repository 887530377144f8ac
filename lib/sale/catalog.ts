// Creating products and reading the catalog. Reads come from the inventory (live `available`),
// so browsing during a sale never reaches PostgreSQL.
import type { Inventory, ProductSnapshot, ProductStore } from './ports';
import type { Product } from './types';

export interface CatalogDeps {
  inventory: Inventory;
  products: ProductStore;
}

/** PostgreSQL first (it assigns the id and is the durable record), then the sale state in Redis. */
export async function createProduct(deps: CatalogDeps, input: Omit<Product, 'id'>): Promise<ProductSnapshot> {
  const product = await deps.products.create(input);
  await deps.inventory.loadProduct(product);
  await deps.products.markLoaded(product.id);
  const [snapshot] = await deps.inventory.snapshots([product.id]);
  if (!snapshot) throw new Error(`product ${product.id} has no sale state after loading`);
  return snapshot;
}

/** The product, null if there is none, "unavailable" if its state was lost and is being rebuilt. */
export async function getProduct(
  deps: Pick<CatalogDeps, 'inventory'>,
  id: number,
): Promise<ProductSnapshot | null | 'unavailable'> {
  const [snapshot] = await deps.inventory.snapshots([id]);
  if (snapshot) return snapshot;
  return (await deps.inventory.stateLost(id)) ? 'unavailable' : null;
}

export async function listProducts(deps: Pick<CatalogDeps, 'inventory'>): Promise<ProductSnapshot[]> {
  return (await deps.inventory.snapshots()).sort((a, b) => a.product.id - b.product.id);
}

export interface ProductPatch {
  name?: string;
  sale_starts_at?: Date | null;
  sale_ends_at?: Date | null;
  max_per_order?: number;
  per_customer_limit?: number | null;
  reservation_ttl_s?: number;
  paused?: boolean;
  stock_delta?: number;
}

export type UpdateOutcome =
  | { kind: 'updated'; snapshot: ProductSnapshot }
  | { kind: 'not_found' }
  | { kind: 'stock_would_go_negative'; available: number }
  | { kind: 'invalid'; field: string; detail: string };

/**
 * Settings go to PostgreSQL then Redis (the reserve script reads them from Redis at once, so
 * `paused: true` stops new orders with the next request). A stock change is decided atomically in
 * Redis first — it is the only place that knows what is available right now — then recorded in
 * PostgreSQL, and undone in Redis if that write fails.
 */
export async function updateProduct(
  deps: CatalogDeps,
  id: number,
  patch: ProductPatch,
): Promise<UpdateOutcome> {
  const current = await deps.products.get(id);
  if (!current) return { kind: 'not_found' };
  const { stock_delta = 0, ...settings } = patch;
  const merged: Product = { ...current, ...settings };
  if (merged.sale_starts_at && merged.sale_ends_at && merged.sale_ends_at <= merged.sale_starts_at) {
    return { kind: 'invalid', field: 'sale_ends_at', detail: 'sale_ends_at must be after sale_starts_at' };
  }
  if (stock_delta !== 0) {
    const r = await deps.inventory.adjustStock(id, stock_delta);
    if (!r.ok) return { kind: 'stock_would_go_negative', available: r.available };
  }
  let next: Product | null;
  try {
    next = await deps.products.update(id, settings, stock_delta);
  } catch (err) {
    if (stock_delta !== 0) await deps.inventory.adjustStock(id, -stock_delta);
    throw err;
  }
  if (!next) return { kind: 'not_found' };
  // Versioned: a slower PATCH's older settings never overwrite a newer one's in Redis.
  await deps.inventory.updateProduct(next);
  const [snapshot] = await deps.inventory.snapshots([id]);
  if (!snapshot) return { kind: 'not_found' };
  return { kind: 'updated', snapshot };
}
