// The release markers in PostgreSQL (stock_releases): which releases Redis has applied, which are
// left to finish, which `released` entries may be pruned; and the stragglers a rebuild missed.
import { IDEMPOTENCY_TTL_S } from '../inventory/inventory';
import type { ProductScope, ReleaseLedger, ReleaseTicket, Straggler } from '../sale/ports';
import type { OrderStatus } from '../sale/types';
import { type Sql, scopeFilter } from './db';
import { ORDER_COLUMNS, type OrderRow, orderFromRow } from './rows';

export async function markReleased(sql: Sql, order_ids: string[]): Promise<void> {
  if (order_ids.length === 0) return;
  await sql`UPDATE stock_releases SET released_at = now()
    WHERE order_id = ANY(${order_ids}::uuid[]) AND released_at IS NULL`;
}

async function unappliedReleases(
  sql: Sql,
  older_than_s: number,
  limit: number,
  scope: ProductScope,
): Promise<ReleaseTicket[]> {
  const rows = await sql<(ReleaseTicket & { product_id: string })[]>`
    SELECT order_id, product_id, customer_id, qty FROM stock_releases
    WHERE released_at IS NULL AND created_at < now() - make_interval(secs => ${older_than_s})
      ${scopeFilter(sql, 'product_id', scope)}
    ORDER BY created_at LIMIT ${limit}`;
  return rows.map((r) => ({ ...r, product_id: Number(r.product_id) }));
}

async function prunableReleases(
  sql: Sql,
  product_ids: number[],
  statuses: readonly OrderStatus[],
  older_than_s: number,
  limit: number,
): Promise<{ order_id: string; product_id: number }[]> {
  const rows = await sql<{ order_id: string; product_id: string }[]>`
    SELECT r.order_id, r.product_id FROM stock_releases r JOIN orders o USING (order_id)
    WHERE r.released_at IS NOT NULL AND r.pruned_at IS NULL
      AND r.released_at < now() - make_interval(secs => ${older_than_s})
      AND r.product_id = ANY(${product_ids}::bigint[]) AND o.status = ANY(${statuses as OrderStatus[]}::text[])
    ORDER BY r.released_at LIMIT ${limit}`;
  return rows.map((r) => ({ order_id: r.order_id, product_id: Number(r.product_id) }));
}

/** How long after a rebuild the release run still looks for stragglers it may have missed. */
const STRAGGLER_WINDOW_H = 24;

/**
 * Orders a live rebuild did not count: accepted before the product reopened (created_at is Redis's
 * clock, like reopened_at) and inserted by a transaction that rebuild's snapshot does not see.
 * Exact, with no reading of queue counters: visibility is PostgreSQL's own.
 */
async function uncounted(
  sql: Sql,
  order_ids: string[] | null,
  limit: number,
  scope: ProductScope,
): Promise<Straggler[]> {
  const rows = await sql<(OrderRow & { idempotency_key: string | null; rebuild_id: string })[]>`
    WITH live AS (
      SELECT DISTINCT ON (product_id) id, product_id, snapshot, counted_at, reopened_at
      FROM inventory_rebuilds WHERE reopened_at IS NOT NULL ${scopeFilter(sql, 'product_id', scope)}
      ORDER BY product_id, id DESC)
    SELECT ${sql(ORDER_COLUMNS.map((c) => `o.${c}`))}, o.idempotency_key, l.id AS rebuild_id
    FROM live l JOIN orders o ON o.product_id = l.product_id
    WHERE ${order_ids === null ? sql`l.reopened_at > now() - make_interval(hours => ${STRAGGLER_WINDOW_H}) AND o.persisted_at > l.counted_at - interval '1 hour'` : sql`o.order_id = ANY(${order_ids}::uuid[])`}
      AND o.inserted_xid IS NOT NULL
      AND o.created_at < l.reopened_at
      AND NOT pg_visible_in_snapshot(o.inserted_xid, l.snapshot)
      AND NOT EXISTS (SELECT 1 FROM rebuild_reconciled x WHERE x.rebuild_id = l.id AND x.order_id = o.order_id)
    ORDER BY o.created_at LIMIT ${limit}`;
  return rows.map((r) => {
    const order = orderFromRow(r);
    const keyed =
      r.idempotency_key && order.created_at.getTime() > Date.now() - IDEMPOTENCY_TTL_S * 1000
        ? { order, idempotency_key: r.idempotency_key }
        : null;
    const { order_id, product_id, customer_id, qty } = order;
    return { order_id, product_id, customer_id, qty, rebuild_id: Number(r.rebuild_id), keyed };
  });
}

export function pgReleaseLedger(sql: Sql): ReleaseLedger {
  return {
    unappliedReleases: (s, limit, scope = null) => unappliedReleases(sql, s, limit, scope),
    markReleased: (ids) => markReleased(sql, ids),
    prunableReleases: (products, statuses, s, limit) => prunableReleases(sql, products, statuses, s, limit),
    async markPruned(order_ids) {
      if (order_ids.length === 0) return;
      await sql`UPDATE stock_releases SET pruned_at = now() WHERE order_id = ANY(${order_ids}::uuid[])`;
    },
    uncounted: (ids, limit, scope = null) => uncounted(sql, ids, limit, scope),
    async markReconciled(rebuild_id, order_id, outcome) {
      await sql`INSERT INTO rebuild_reconciled (rebuild_id, order_id, outcome)
        VALUES (${rebuild_id}, ${order_id}, ${outcome}) ON CONFLICT DO NOTHING`;
    },
  };
}
