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
  const [snapshot] = await deps.inventory.snapshots([product.id]);
  if (!snapshot) throw new Error(`product ${product.id} has no sale state after loading`);
  return snapshot;
}

export async function getProduct(
  deps: Pick<CatalogDeps, 'inventory'>,
  id: number,
): Promise<ProductSnapshot | null> {
  const [snapshot] = await deps.inventory.snapshots([id]);
  return snapshot ?? null;
}

export async function listProducts(deps: Pick<CatalogDeps, 'inventory'>): Promise<ProductSnapshot[]> {
  return (await deps.inventory.snapshots()).sort((a, b) => a.product.id - b.product.id);
}
