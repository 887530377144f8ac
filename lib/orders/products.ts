// Products in PostgreSQL: the durable record of what is on sale (Redis holds the live copy).
import type { ProductStore } from '../sale/ports';
import type { Product } from '../sale/types';
import type { Sql } from './db';
import { type ProductRow, productFromRow } from './rows';

export function pgProducts(sql: Sql): ProductStore & { list(): Promise<Product[]> } {
  return {
    async create(p) {
      const [row] = await sql<ProductRow[]>`
        INSERT INTO products (sku, name, price_cents, currency, stock_total, max_per_order,
          per_customer_limit, reservation_ttl_s, sale_starts_at, sale_ends_at, paused)
        VALUES (${p.sku}, ${p.name}, ${p.price_cents}, ${p.currency}, ${p.stock_total}, ${p.max_per_order},
          ${p.per_customer_limit}, ${p.reservation_ttl_s}, ${p.sale_starts_at}, ${p.sale_ends_at}, ${p.paused})
        ON CONFLICT (sku) DO NOTHING
        RETURNING *`;
      if (!row) throw new SkuTakenError(p.sku);
      return productFromRow(row);
    },
    async markLoaded(id) {
      await sql`UPDATE products SET loaded_at = now() WHERE id = ${id} AND loaded_at IS NULL`;
    },
    async get(id) {
      const [row] = await sql<ProductRow[]>`SELECT * FROM products WHERE id = ${id}`;
      return row ? productFromRow(row) : null;
    },
    async update(id, settings, stock_delta) {
      // Only the fields given: a concurrent PATCH of other fields is never reverted.
      const given = {
        ...Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)),
        updated_at: new Date(),
      };
      const [row] = await sql<ProductRow[]>`
        UPDATE products SET ${sql(given)},
          stock_total = stock_total + ${stock_delta}, settings_version = settings_version + 1
        WHERE id = ${id} RETURNING *`;
      return row ? productFromRow(row) : null;
    },
    async list() {
      return (await sql<ProductRow[]>`SELECT * FROM products ORDER BY id`).map(productFromRow);
    },
  };
}

export class SkuTakenError extends Error {
  readonly code = 'sku_taken';
  constructor(readonly sku: string) {
    super(`sku already exists: ${sku}`);
  }
}
