// What PostgreSQL proves about a product's inventory, for rebuilding Redis after it lost data.

import { IDEMPOTENCY_TTL_S } from '../inventory/inventory';
import type { RebuildSource } from '../sale/ports';
import type { AcceptedOrder } from '../sale/types';
import type { Sql } from './db';
import { markReleased } from './lifecycle';
import { ORDER_COLUMNS, type OrderRow, type ProductRow, productFromRow } from './rows';

function acceptedFromRow(r: OrderRow & { idempotency_key?: string | null }): AcceptedOrder {
  return {
    order_id: r.order_id,
    product_id: Number(r.product_id),
    customer_id: r.customer_id,
    qty: r.qty,
    unit_price_cents: Number(r.unit_price_cents),
    currency: r.currency,
    created_ms: r.created_at.getTime(),
    expires_ms: r.expires_at.getTime(),
    ...(r.idempotency_key ? { idempotency_key: r.idempotency_key } : {}),
  };
}

export function pgRebuildSource(sql: Sql): RebuildSource {
  return {
    async products() {
      // Not a product its creator is loading right now (it would be closed for a fence for nothing).
      const rows = await sql<ProductRow[]>`
        SELECT * FROM products WHERE loaded_at IS NOT NULL OR created_at < now() - interval '1 minute'
        ORDER BY id`;
      return rows.map(productFromRow);
    },
    async rollbackEvidence() {
      // Recent orders only: a rollback is found within a run or two, and the scan stays bounded.
      const rows = await sql<
        { product_id: string; generation: string; max_seq: string; duplicated: boolean }[]
      >`
        SELECT product_id, inventory_generation AS generation, max(inventory_seq) AS max_seq,
          count(*) <> count(DISTINCT inventory_seq) AS duplicated
        FROM orders
        WHERE inventory_seq IS NOT NULL AND persisted_at > now() - interval '1 hour'
        GROUP BY product_id, inventory_generation`;
      return rows.map((r) => ({
        product_id: Number(r.product_id),
        generation: Number(r.generation),
        max_seq: Number(r.max_seq),
        duplicated: r.duplicated,
      }));
    },
    async newestHolding(product_id, limit) {
      return sql<{ order_id: string; qty: number }[]>`
        SELECT order_id, qty FROM orders WHERE product_id = ${product_id} AND status IN ('reserved', 'paid')
        ORDER BY created_at DESC, order_id DESC LIMIT ${limit}`;
    },
    async state(product) {
      return sql.begin('isolation level repeatable read', async (tx) => {
        // One snapshot for everything below, and it is recorded: an order this snapshot does not
        // see (inserted later, or by a transaction still open) is a straggler, reconciled later.
        const [rebuild] = await tx<{ id: string; stock_total: number }[]>`
          INSERT INTO inventory_rebuilds (product_id, snapshot)
          VALUES (${product.id}, pg_current_snapshot())
          RETURNING id, (SELECT stock_total FROM products WHERE id = ${product.id}) AS stock_total`;
        const stock_total = rebuild!.stock_total;
        const held = await tx<{ customer_id: string; units: number }[]>`
          SELECT customer_id, sum(qty)::int AS units FROM orders
          WHERE product_id = ${product.id} AND status IN ('reserved', 'paid') GROUP BY customer_id`;
        // Expired orders can still be paid late (retake needs to know their units are out), and
        // releases not yet applied in Redis are free already: both are written as "released".
        const free = await tx<{ order_id: string }[]>`
          SELECT order_id FROM orders WHERE product_id = ${product.id} AND status = 'expired'
          UNION
          SELECT order_id FROM stock_releases WHERE product_id = ${product.id} AND released_at IS NULL`;
        const replays = await tx<OrderRow[]>`
          SELECT ${tx(ORDER_COLUMNS)}, idempotency_key FROM orders
          WHERE product_id = ${product.id} AND idempotency_key IS NOT NULL
            AND created_at > now() - make_interval(secs => ${IDEMPOTENCY_TTL_S})`;
        const held_units = held.reduce((n, h) => n + h.units, 0);
        return {
          rebuild_id: Number(rebuild!.id),
          stock_total,
          held_units,
          available: stock_total - held_units,
          customers: new Map(held.map((h) => [h.customer_id, h.units])),
          released_order_ids: free.map((f) => f.order_id),
          replays: replays.map(acceptedFromRow),
        };
      });
    },
    markReleased: (order_ids) => markReleased(sql, order_ids),
    async reopened(rebuild_id, reopened_ms) {
      await sql`UPDATE inventory_rebuilds SET reopened_at = ${new Date(reopened_ms)} WHERE id = ${rebuild_id}`;
    },
  };
}
