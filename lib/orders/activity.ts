// Order arrival rate for the dashboard: recent orders per product, found through the primary key
// (order ids start with their creation time; the domain gives the id floor) rather than a scan of
// the whole table.
import type { OrderActivity } from '../sale/ports';
import type { Sql } from './db';

export function pgOrderActivity(sql: Sql): OrderActivity {
  return {
    async createdSince(since, product_ids, order_ids, id_floor) {
      return sql.begin('isolation level repeatable read', async (tx) => {
        const rows = product_ids.length
          ? await tx<{ product_id: string; n: string }[]>`
              SELECT product_id, count(*) AS n FROM orders
              WHERE order_id >= ${id_floor}::uuid
                AND created_at >= ${since}
                AND product_id = ANY(${product_ids}::bigint[])
              GROUP BY product_id`
          : [];
        const found = order_ids.length
          ? await tx<{ order_id: string }[]>`
              SELECT order_id FROM orders WHERE order_id = ANY(${order_ids}::uuid[])`
          : [];
        return {
          created: new Map(rows.map((r) => [Number(r.product_id), Number(r.n)])),
          existing: new Set(found.map((r) => r.order_id)),
        };
      });
    },
  };
}
