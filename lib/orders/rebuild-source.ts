// What PostgreSQL proves about a product's inventory, for rebuilding Redis after it lost data.

import { config } from '../config';
import { IDEMPOTENCY_TTL_S } from '../inventory/inventory';
import type { RebuildSource, WriteEvidence } from '../sale/ports';
import type { Sql, Tx } from './db';
import { markReleased } from './release-ledger';
import {
  ORDER_COLUMNS,
  type OrderRow,
  orderFromRow,
  type ProductRow,
  paidOrPaying,
  productFromRow,
} from './rows';

/** Per product and kind, the newest this many writes are checked (a rollback loses the last ones). */
const WRITE_EVIDENCE_PER_KIND_MAX = 100;

/**
 * Write evidence is younger than this: well inside the release prune (RELEASED_PRUNE_AFTER_S), so
 * a `released` entry gone from Redis is lost, never pruned.
 */
const writeEvidenceAgeMax_s = () => Math.floor(config().RELEASED_PRUNE_AFTER_S * 0.8);

/**
 * The snapshot's stock_total already holds every pending adjustment (written in the same
 * transaction as its row): the rebuild decides them here, in its snapshot. A withdrawn one, and a
 * removal that would take `available` below 0, are refused (taken back off stock_total), as Redis
 * would have; the rest are applied by this rebuild. Oldest first, as Redis would have seen them.
 */
async function decidePending(
  tx: Tx,
  product_id: number,
  available_with_all: number,
): Promise<{ refused_units: number }> {
  const pending = await tx<{ id: string; delta: number; withdrawn: boolean }[]>`
    SELECT id, delta, withdrawn_at IS NOT NULL AS withdrawn FROM stock_adjustments
    WHERE product_id = ${product_id} AND applied_at IS NULL AND refused_at IS NULL ORDER BY id`;
  // Start from the state without any pending delta, then take each in turn.
  let available = available_with_all - pending.reduce((n, a) => n + a.delta, 0);
  let refused_units = 0;
  for (const a of pending) {
    // Withdrawn: its PATCH answered 503, and Redis (now lost) is the only place it could have
    // been applied; refusing it is what the admin was told. An addition is never refused otherwise:
    // Redis never holds available below 0, so adjust-stock.lua applies every one. The count here
    // can be below 0 (units sold twice after a rollback, closed right after it): refusing an
    // addition then closed as many more orders, paid ones refunded (review 41).
    const refuse = a.withdrawn || (a.delta < 0 && available + a.delta < 0);
    if (refuse) refused_units += a.delta;
    else available += a.delta;
    const column = refuse ? 'refused_at' : 'applied_at';
    await tx`UPDATE stock_adjustments SET ${tx(column)} = now() WHERE id = ${a.id}`;
  }
  if (refused_units !== 0) {
    await tx`UPDATE products SET stock_total = stock_total - ${refused_units} WHERE id = ${product_id}`;
  }
  return { refused_units };
}

/**
 * Two orders under one key count as a duplicate only when both are this much younger than the key's
 * lifetime: created_at is Redis's clock and now() PostgreSQL's, and an order placed just after the
 * key expired is a new order, not a second one.
 */
const KEY_EXPIRY_MARGIN_S = 60;

/**
 * Of the orders under one Idempotency-Key (aliased `o`), the one the key answers: holding units,
 * paid or with a successful payment waiting for it (paidOrPaying: the rule the oversold step and a
 * straggler's key use too), then the newest (the answer the client saw last). Any further one is a
 * second order.
 */
const keptFirst = (sql: Sql | Tx) =>
  sql`o.status IN ('reserved', 'paid') DESC, ${paidOrPaying(sql)} DESC, o.created_at DESC, o.order_id DESC`;

/**
 * The generation and sequence of the orders quarantined in the last hour, from the order as accepted
 * (JSON text). Parsed here, not in SQL: the text may hold \u0000 (often why PostgreSQL refused the
 * order), which PostgreSQL's json operators refuse, failing the whole query.
 */
async function quarantinedSequences(
  sql: Sql,
): Promise<{ product_id: number; generation: number; seq: number }[]> {
  const rows = await sql<{ product_id: string; message: string }[]>`
    SELECT product_id, message FROM quarantined_orders WHERE quarantined_at > now() - interval '1 hour'`;
  return rows.flatMap((r) => {
    let o: { generation?: unknown; seq?: unknown };
    try {
      o = JSON.parse(r.message);
    } catch {
      return [];
    }
    if (!Number.isInteger(o.generation) || !Number.isInteger(o.seq)) return [];
    return [{ product_id: Number(r.product_id), generation: o.generation as number, seq: o.seq as number }];
  });
}

/**
 * A product never loaded into Redis is its creator's for this long (a create that answered 503 is
 * finished by its retry: lib/orders/products.ts); after it, a rebuild loads it.
 */
export const UNLOADED_PRODUCT_GRACE_S = 60;

export function pgRebuildSource(sql: Sql): RebuildSource {
  return {
    async products() {
      // Not a product its creator is loading right now (it would be closed for a fence for nothing).
      const rows = await sql<ProductRow[]>`
        SELECT * FROM products
        WHERE loaded_at IS NOT NULL OR created_at < now() - make_interval(secs => ${UNLOADED_PRODUCT_GRACE_S})
        ORDER BY id`;
      return rows.map(productFromRow);
    },
    async rollbackEvidence() {
      // Recent orders only: a rollback is found within a run or two, and the scan stays bounded.
      // Quarantined orders too (never rows): a rollback that took one's reservation, its sequence
      // handed out again, is found only through it, and its release gave back a unit Redis no
      // longer held (review 41).
      const q = await quarantinedSequences(sql);
      const rows = await sql<
        { product_id: string; generation: string; max_seq: string; duplicated: boolean }[]
      >`
        WITH sequenced AS (
          SELECT product_id, inventory_generation AS generation, inventory_seq AS seq FROM orders
          WHERE inventory_seq IS NOT NULL AND persisted_at > now() - interval '1 hour'
          UNION ALL
          SELECT * FROM unnest(${q.map((x) => x.product_id)}::bigint[], ${q.map((x) => x.generation)}::bigint[],
            ${q.map((x) => x.seq)}::bigint[])
        )
        SELECT product_id, generation, max(seq) AS max_seq, count(*) <> count(DISTINCT seq) AS duplicated
        FROM sequenced GROUP BY product_id, generation`;
      return rows.map((r) => ({
        product_id: Number(r.product_id),
        generation: Number(r.generation),
        max_seq: Number(r.max_seq),
        duplicated: r.duplicated,
      }));
    },
    async writeEvidence() {
      // Since the latest rebuild that reopened the product counted (a rebuild writes neither hash
      // whole; a release stamped after it counted was applied in the state it wrote), the newest few per product (a
      // rollback loses the last writes), younger than the release prune (an entry pruned from Redis
      // is not lost). Stamped only after Redis applied them.
      const age_max_s = writeEvidenceAgeMax_s();
      const rows = await sql<
        {
          product_id: string;
          generation: string;
          kind: 'release' | 'adjustment' | 'retake' | 'reconcile';
          id: string;
        }[]
      >`
        WITH latest AS (
          SELECT DISTINCT ON (product_id) product_id, id, counted_at, snapshot FROM inventory_rebuilds
          WHERE reopened_at IS NOT NULL ORDER BY product_id, id DESC
        ), recent AS (
          SELECT r.product_id, coalesce(l.id, 0) AS generation, 'release' AS kind, r.order_id::text AS id,
            row_number() OVER (PARTITION BY r.product_id ORDER BY r.released_at DESC) AS n
          FROM stock_releases r LEFT JOIN latest l USING (product_id)
          WHERE r.released_at > now() - make_interval(secs => ${age_max_s})
            AND r.pruned_at IS NULL AND (l.counted_at IS NULL OR r.released_at > l.counted_at)
          UNION ALL
          SELECT a.product_id, coalesce(l.id, 0), 'adjustment', a.id::text,
            row_number() OVER (PARTITION BY a.product_id ORDER BY a.applied_at DESC)
          FROM stock_adjustments a LEFT JOIN latest l USING (product_id)
          WHERE a.applied_at > now() - make_interval(secs => ${age_max_s})
            AND (l.counted_at IS NULL OR a.applied_at > l.counted_at)
          UNION ALL
          -- A late payment's retake the rebuild's snapshot did not see (by its transaction, not its
          -- time: one open across the count ran retake.lua on the lost state and committed after).
          SELECT o.product_id, coalesce(l.id, 0), 'retake', e.order_id::text,
            row_number() OVER (PARTITION BY o.product_id ORDER BY e.at DESC)
          FROM order_events e JOIN orders o USING (order_id) LEFT JOIN latest l ON l.product_id = o.product_id
          WHERE e.from_status = 'expired' AND e.to_status = 'paid'
            AND e.at > now() - make_interval(secs => ${age_max_s})
            AND (l.id IS NULL
              OR (e.inserted_xid IS NOT NULL AND NOT pg_visible_in_snapshot(e.inserted_xid, l.snapshot)))
          UNION ALL
          -- A straggler reconciled under the live generation: reconcile.lua marked it in Redis first.
          SELECT l.product_id, l.id, 'reconcile', x.order_id::text,
            row_number() OVER (PARTITION BY l.product_id ORDER BY x.at DESC)
          FROM rebuild_reconciled x JOIN latest l ON l.id = x.rebuild_id
          WHERE x.at > now() - make_interval(secs => ${age_max_s})
        )
        SELECT product_id, generation, kind, id FROM recent WHERE n <= ${WRITE_EVIDENCE_PER_KIND_MAX}`;
      const by = new Map<number, WriteEvidence>();
      for (const r of rows) {
        const product_id = Number(r.product_id);
        const e = by.get(product_id) ?? {
          product_id,
          generation: Number(r.generation),
          released_order_ids: [],
          retaken_order_ids: [],
          applied_adjustment_ids: [],
          reconciled_order_ids: [],
        };
        if (r.kind === 'release') e.released_order_ids.push(r.id);
        else if (r.kind === 'retake') e.retaken_order_ids.push(r.id);
        else if (r.kind === 'reconcile') e.reconciled_order_ids.push(r.id);
        else e.applied_adjustment_ids.push(Number(r.id));
        by.set(product_id, e);
      }
      return [...by.values()];
    },
    async keyedDuplicates(product_id) {
      return sql<{ order_id: string; status: 'reserved' | 'paid' }[]>`
        SELECT order_id, status FROM (
          SELECT o.order_id, o.status, row_number() OVER (
            PARTITION BY o.customer_id, o.idempotency_key ORDER BY ${keptFirst(sql)}) AS n
          FROM orders o
          WHERE o.product_id = ${product_id} AND o.idempotency_key IS NOT NULL
            AND o.status IN ('reserved', 'paid')
            AND o.created_at > now() - make_interval(secs => ${IDEMPOTENCY_TTL_S - KEY_EXPIRY_MARGIN_S})) k
        WHERE n > 1`;
    },
    async holdersToClose(product_id, limit) {
      return sql<{ order_id: string; qty: number; status: 'reserved' | 'paid' }[]>`
        SELECT order_id, qty, status FROM orders o WHERE product_id = ${product_id} AND status IN ('reserved', 'paid')
        ORDER BY ${paidOrPaying(sql)}, created_at DESC, order_id DESC
        LIMIT ${limit}`;
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
        // So are quarantined orders (never rows; their units went back when PostgreSQL refused
        // them): a copy of one's message delivered after the rebuild is quarantined again, and its
        // release must find the entry, or it gives back units the rebuild never counted as held.
        const free = await tx<{ order_id: string }[]>`
          SELECT order_id FROM orders WHERE product_id = ${product.id} AND status = 'expired'
          UNION
          SELECT order_id FROM stock_releases WHERE product_id = ${product.id} AND released_at IS NULL
          UNION
          SELECT order_id FROM quarantined_orders WHERE product_id = ${product.id}`;
        // One order per key: the one a retry must find (keyedDuplicates' choice, any status).
        const replays = await tx<(OrderRow & { idempotency_key: string })[]>`
          SELECT DISTINCT ON (o.customer_id, o.idempotency_key) ${tx(ORDER_COLUMNS.map((c) => `o.${c}`))},
            o.idempotency_key
          FROM orders o
          WHERE o.product_id = ${product.id} AND o.idempotency_key IS NOT NULL
            AND o.created_at > now() - make_interval(secs => ${IDEMPOTENCY_TTL_S})
          ORDER BY o.customer_id, o.idempotency_key, ${keptFirst(tx)}`;
        const held_units = held.reduce((n, h) => n + h.units, 0);
        const decided = await decidePending(tx, product.id, stock_total - held_units);
        const adjustments = await tx<{ id: string; applied: boolean }[]>`
          SELECT id, applied_at IS NOT NULL AS applied FROM stock_adjustments
          WHERE product_id = ${product.id} AND created_at > now() - interval '1 hour'`;
        return {
          rebuild_id: Number(rebuild!.id),
          stock_total: stock_total - decided.refused_units,
          held_units,
          available: stock_total - decided.refused_units - held_units,
          adjustments: adjustments.map((a) => ({
            id: Number(a.id),
            outcome: a.applied ? ('applied' as const) : ('refused' as const),
          })),
          customers: new Map(held.map((h) => [h.customer_id, h.units])),
          released_order_ids: free.map((f) => f.order_id),
          replays: replays.map((r) => ({ order: orderFromRow(r), idempotency_key: r.idempotency_key })),
        };
      });
    },
    markReleased: (order_ids) => markReleased(sql, order_ids),
    async lastReopened(product_ids) {
      if (product_ids.length === 0) return new Map();
      const rows = await sql<{ product_id: string; ms: string }[]>`
        SELECT product_id, (extract(epoch FROM max(reopened_at)) * 1000)::bigint AS ms FROM inventory_rebuilds
        WHERE product_id = ANY(${product_ids}::bigint[]) AND reopened_at IS NOT NULL GROUP BY product_id`;
      return new Map(rows.map((r) => [Number(r.product_id), Number(r.ms)]));
    },
    async reopened(rebuild_id, reopened_ms) {
      await sql`UPDATE inventory_rebuilds SET reopened_at = ${new Date(reopened_ms)} WHERE id = ${rebuild_id}`;
    },
    async recordReopens(live) {
      if (live.length === 0) return [];
      // Only the product's own rebuild row, and only where nothing was recorded: an exact repair.
      const rows = await sql<{ id: string }[]>`
        UPDATE inventory_rebuilds r SET reopened_at = to_timestamp(x.ms / 1000.0)
        FROM unnest(${live.map((l) => l.generation)}::bigint[], ${live.map((l) => l.product_id)}::bigint[],
          ${live.map((l) => l.reopened_ms)}::bigint[]) AS x(id, product_id, ms)
        WHERE r.id = x.id AND r.product_id = x.product_id AND r.reopened_at IS NULL
        RETURNING r.id`;
      return rows.map((r) => Number(r.id));
    },
  };
}
