// Orders in PostgreSQL: batched inserts from the queue, reads for owners and admins.
import postgres from 'postgres';
import type { AcceptedOrder } from '../sale/accepted-order';
import type { OrderStore } from '../sale/ports';
import type { Order, OrderStatus } from '../sale/types';
import { orderLockKey, type Sql } from './db';
import { ORDER_COLUMNS, type OrderRow, orderFromRow } from './rows';

export function pgOrders(sql: Sql): OrderStore & {
  listByCustomer(customer_id: string, limit: number, before: Cursor | null): Promise<Order[]>;
} {
  return {
    insertAccepted: (orders) => refusalsTyped(() => insertAccepted(sql, orders)),
    async insertEach(orders) {
      const inserted: string[] = [];
      const rejected: { order: AcceptedOrder; reason: string }[] = [];
      for (const order of orders) {
        const one = await refusalsTyped(() => insertAccepted(sql, [order]));
        if ('inserted' in one) inserted.push(...one.inserted);
        else rejected.push({ order, reason: one.rejected });
      }
      return { inserted, rejected };
    },
    async quarantine(order, reason) {
      await sql`INSERT INTO quarantined_orders (order_id, product_id, qty, message, reason)
        VALUES (${order.order_id}, ${order.product_id}, ${order.qty}, ${JSON.stringify(order)}, ${printable(reason)})
        ON CONFLICT (order_id) DO NOTHING`;
    },
    async get(order_id) {
      const [row] = await sql<
        OrderRow[]
      >`SELECT ${sql(ORDER_COLUMNS)} FROM orders WHERE order_id = ${order_id}`;
      return row ? orderFromRow(row) : null;
    },
    async sequenced(order_ids) {
      if (order_ids.length === 0) return new Set();
      const rows = await sql<{ order_id: string }[]>`
        SELECT order_id FROM orders WHERE order_id = ANY(${order_ids}::uuid[]) AND inventory_seq IS NOT NULL`;
      return new Set(rows.map((r) => r.order_id));
    },
    async auditFigures(product_id, order_ids, cut) {
      return sql.begin('isolation level repeatable read', async (tx) => {
        const rows = await tx<{ status: OrderStatus; units: string }[]>`
          SELECT status, sum(qty) AS units FROM orders WHERE product_id = ${product_id} GROUP BY status`;
        const found = order_ids.length
          ? await tx<
              { order_id: string }[]
            >`SELECT order_id FROM orders WHERE order_id = ANY(${order_ids}::uuid[])`
          : [];
        // Orders of the cut's generation up to its sequence had been accepted at the Redis read.
        const [counted] = cut
          ? await tx<{ units: string; orders: string }[]>`
              SELECT coalesce(sum(qty), 0) AS units, count(*) AS orders FROM orders
              WHERE product_id = ${product_id} AND inventory_generation = ${cut.generation}
                AND inventory_seq <= ${cut.seq}
                AND NOT (order_id = ANY(${order_ids}::uuid[]))`
          : [];
        const units: Partial<Record<OrderStatus, number>> = {};
        for (const r of rows) units[r.status] = Number(r.units);
        return {
          units,
          existing: new Set(found.map((r) => r.order_id)),
          ...(counted ? { counted: { units: Number(counted.units), orders: Number(counted.orders) } } : {}),
        };
      });
    },
    async listByCustomer(customer_id, limit, before) {
      const rows = before
        ? await sql<OrderRow[]>`
            SELECT ${sql(ORDER_COLUMNS)} FROM orders
            WHERE customer_id = ${customer_id} AND (created_at, order_id) < (${before.created_at}, ${before.order_id})
            ORDER BY created_at DESC, order_id DESC LIMIT ${limit}`
        : await sql<OrderRow[]>`
            SELECT ${sql(ORDER_COLUMNS)} FROM orders WHERE customer_id = ${customer_id}
            ORDER BY created_at DESC, order_id DESC LIMIT ${limit}`;
      return rows.map(orderFromRow);
    },
  };
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint): the data, not an outage. */
const REFUSED_DATA = /^2[23]/;

async function refusalsTyped(
  fn: () => Promise<string[]>,
): Promise<{ inserted: string[] } | { rejected: string }> {
  try {
    return { inserted: await fn() };
  } catch (err) {
    if (err instanceof postgres.PostgresError && REFUSED_DATA.test(err.code)) {
      return { rejected: `${err.code} ${err.message}` };
    }
    throw err;
  }
}

/** A refusal may quote the bad value: keep it readable and storable (no NUL, no control chars). */
const printable = (s: string) => s.replace(/\p{Cc}/gu, '?').slice(0, 500);

export interface Cursor {
  created_at: Date;
  order_id: string;
}

/**
 * One statement for the whole batch, in one transaction: the orders (INSERT … ON CONFLICT DO
 * NOTHING), one order_events row per order actually inserted, and the advisory lock of each of
 * those orders. A duplicate delivery inserts nothing and records nothing, whichever batch or
 * container it arrives in. The batch travels as one array per column (13 parameters, whatever its
 * size): PostgreSQL parses and plans a short statement instead of a VALUES list of 13 parameters
 * per order, and the round trips are those of one statement instead of three.
 */
export async function insertAccepted(
  sql: Sql,
  orders: AcceptedOrder[],
  hooks: { beforeCommit?: () => Promise<void> } = {},
): Promise<string[]> {
  if (orders.length === 0) return [];
  // Sorted: concurrent batches sharing orders lock them in the same order and cannot deadlock.
  const c = columnsOf(
    dedupe(orders)
      .sort((a, b) => (a.order_id < b.order_id ? -1 : 1))
      .map(rowFromAccepted),
  );
  return sql.begin(async (tx) => {
    // The early-webhook race: a webhook that looked for one of these orders before this commit
    // holds its lock until it has stored its event as pending; the last step waits for it (locks
    // taken in order_id order), and the pending events are applied right after this commit
    // (lib/sale/early-events.ts settleAfterPersist).
    const inserted = await tx<{ order_id: string }[]>`
      WITH given AS (
        SELECT * FROM unnest(
          ${c.order_id}::uuid[], ${c.product_id}::bigint[], ${c.customer_id}::text[], ${c.qty}::int[],
          ${c.unit_price_cents}::bigint[], ${c.amount_cents}::bigint[], ${c.currency}::text[],
          ${c.status}::text[], ${c.created_at}::bigint[], ${c.expires_at}::bigint[],
          ${c.idempotency_key}::text[], ${c.inventory_generation}::bigint[], ${c.inventory_seq}::bigint[])
          AS g(order_id, product_id, customer_id, qty, unit_price_cents, amount_cents, currency, status,
            created_ms, expires_ms, idempotency_key, inventory_generation, inventory_seq)
      ), new AS (
        INSERT INTO orders (order_id, product_id, customer_id, qty, unit_price_cents, amount_cents,
          currency, status, created_at, expires_at, idempotency_key, inventory_generation, inventory_seq)
        SELECT order_id, product_id, customer_id, qty, unit_price_cents, amount_cents, currency, status,
          timestamptz 'epoch' + created_ms * interval '1 millisecond',
          timestamptz 'epoch' + expires_ms * interval '1 millisecond',
          idempotency_key, inventory_generation, inventory_seq
        FROM given
        ON CONFLICT (order_id) DO NOTHING RETURNING order_id
      ), recorded AS (
        INSERT INTO order_events (order_id, from_status, to_status, actor, reason)
        SELECT order_id, NULL, 'reserved', 'system:persist', 'accepted by inventory' FROM new
      )
      SELECT order_id, pg_advisory_xact_lock(${orderLockKey(tx, tx('order_id'))}) AS locked
      FROM (SELECT order_id FROM new ORDER BY order_id) AS fresh`;
    await hooks.beforeCommit?.();
    return inserted.map((r) => r.order_id);
  });
}

type AcceptedRow = ReturnType<typeof rowFromAccepted>;

/**
 * The rows as one array per column, in the statement's column order; timestamps as epoch
 * milliseconds (exact, and no date to format and parse again per value).
 */
function columnsOf(rows: AcceptedRow[]): {
  [K in keyof AcceptedRow]: (AcceptedRow[K] extends Date ? number : AcceptedRow[K])[];
} {
  return {
    order_id: rows.map((r) => r.order_id),
    product_id: rows.map((r) => r.product_id),
    customer_id: rows.map((r) => r.customer_id),
    qty: rows.map((r) => r.qty),
    unit_price_cents: rows.map((r) => r.unit_price_cents),
    amount_cents: rows.map((r) => r.amount_cents),
    currency: rows.map((r) => r.currency),
    status: rows.map((r) => r.status),
    created_at: rows.map((r) => r.created_at.getTime()),
    expires_at: rows.map((r) => r.expires_at.getTime()),
    idempotency_key: rows.map((r) => r.idempotency_key),
    inventory_generation: rows.map((r) => r.inventory_generation),
    inventory_seq: rows.map((r) => r.inventory_seq),
  };
}

/** The orders row of an accepted order (a new reservation): one column per field of its schema. */
export function rowFromAccepted(o: AcceptedOrder) {
  return {
    order_id: o.order_id,
    product_id: o.product_id,
    customer_id: o.customer_id,
    qty: o.qty,
    unit_price_cents: o.unit_price_cents,
    amount_cents: o.unit_price_cents * o.qty,
    currency: o.currency,
    status: 'reserved' as const,
    created_at: new Date(o.created_ms),
    expires_at: new Date(o.expires_ms),
    idempotency_key: o.idempotency_key ?? null,
    inventory_generation: o.generation ?? null,
    inventory_seq: o.seq ?? null,
  };
}

/** The same order twice in one batch is written (and recorded) once. */
function dedupe(orders: AcceptedOrder[]): AcceptedOrder[] {
  return [...new Map(orders.map((o) => [o.order_id, o])).values()];
}
