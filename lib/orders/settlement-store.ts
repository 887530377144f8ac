// The settle use cases' store in PostgreSQL: units of work on one locked order, bulk expiry and
// the queries that feed them. It loads, locks and writes; lib/sale decides. Every status change is
// a conditional UPDATE (exactly one racer wins) plus an order_events row.
import type { PaymentEvent } from '../sale/order-rules';
import type { LockedOrder, ReleaseTicket, SettlementStore, Transitioned } from '../sale/ports';
import type { OrderStatus } from '../sale/types';
import {
  cancelRequested,
  recordCancelRequest,
  requestedCancels,
  settleCancelRequest,
  strandedCancelOrders,
} from './cancel-requests';
import { orderLockKey, type Sql, scopeFilter, type Tx } from './db';
import { ORDER_COLUMNS, type OrderRow, orderFromRow, paymentWaiting } from './rows';

/** Serialises everything that concerns one order id (webhook vs persist: the early-webhook race). */
async function lockOrderId(tx: Tx, order_id: string): Promise<void> {
  await tx`SELECT pg_advisory_xact_lock(${orderLockKey(tx, order_id)})`;
}

const ORPHAN_BATCH_MAX = 1_000;

// An order PostgreSQL refused (quarantined) never becomes a row and its units are already back on
// sale: a payment for it can never be applied, so it is surfaced for a refund at once instead of
// after `hours`.
const quarantinedOrder = (q: Sql | Tx) =>
  q`EXISTS (SELECT 1 FROM quarantined_orders qo WHERE qo.order_id = e.order_id)`;

/** A pending payment (`e`) whose order is not in PostgreSQL and will not come. */
const stalePending = (q: Sql | Tx, hours: number) =>
  q`e.status = 'pending' AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = e.order_id)
    AND (${quarantinedOrder(q)} OR e.received_at < now() - make_interval(hours => ${hours}))`;

/**
 * Orphans the stale pending payments of `order_ids`, each under its order's lock. persistOrders
 * takes that lock in its insert statement and holds it until it commits, then reads the order's
 * pending payments: an order whose insert is in progress is skipped to the next run (a try-lock,
 * so the two never wait on each other), and the UPDATE, a statement after the locks, sees an insert
 * committed before them. An orphaning that gets the lock first (even in the instant inside persist's
 * statement between its row insert and its lock) is waited for by persist, which then finds the
 * payment orphaned: the outcome of an orphaning just before the insert (listed for a refund, the
 * order left to expire). Without the lock that outcome was open for the whole of persist's
 * transaction, while the order was already on its way in (quarantine.test.ts holds it open).
 */
async function orphanLocked(sql: Sql, order_ids: string[], hours: number): Promise<number> {
  return (await sql.begin(async (tx) => {
    const locked = await tx<{ order_id: string }[]>`
      SELECT id AS order_id FROM unnest(${order_ids}::uuid[]) id
      WHERE pg_try_advisory_xact_lock(${orderLockKey(tx, tx('id'))})`;
    if (locked.length === 0) return 0;
    const rows = await tx`
      UPDATE payment_events e SET status = 'orphaned', handled_at = now(),
        reason = CASE WHEN ${quarantinedOrder(tx)} THEN 'order quarantined: PostgreSQL refused to store it'
          ELSE 'no such order within ' || ${hours} || ' hours' END
      WHERE e.order_id = ANY(${locked.map((l) => l.order_id)}::uuid[]) AND ${stalePending(tx, hours)}
      RETURNING webhook_id`;
    return rows.length;
  })) as number;
}

function lockedOrder(tx: Tx, order_id: string): LockedOrder {
  return {
    async load() {
      const [row] = await tx<
        OrderRow[]
      >`SELECT ${tx(ORDER_COLUMNS)} FROM orders WHERE order_id = ${order_id} FOR UPDATE`;
      return row ? orderFromRow(row) : null;
    },
    async recordPayment(e: PaymentEvent) {
      if (e.order_id !== order_id) throw new Error(`event for ${e.order_id} under the lock of ${order_id}`);
      const inserted = await tx`
        INSERT INTO payment_events (webhook_id, type, order_id, amount_cents, currency, payment_id, status,
                                    received_at)
        VALUES (${e.webhook_id}, ${e.type}, ${e.order_id}, ${e.amount_cents}, ${e.currency}, ${e.payment_id},
                'pending', clock_timestamp())
        ON CONFLICT (webhook_id) DO NOTHING RETURNING webhook_id`;
      return inserted.length > 0;
    },
    async pendingPayments() {
      const rows = await tx<PaymentEventRow[]>`
        SELECT webhook_id, type, order_id, amount_cents, currency, payment_id FROM payment_events
        WHERE order_id = ${order_id} AND status = 'pending' ORDER BY received_at, webhook_id FOR UPDATE`;
      return rows.map(eventFromRow);
    },
    async settlePayment(webhook_id, status, reason, order_status) {
      await tx`UPDATE payment_events SET status = ${status}, reason = ${reason}, order_status = ${order_status},
        handled_at = now() WHERE webhook_id = ${webhook_id}`;
    },
    transition: (from, to, actor, reason) => transition(tx, order_id, from, to, actor, reason),
    async recordRelease(ticket: ReleaseTicket) {
      await tx`INSERT INTO stock_releases ${tx({ ...ticket })} ON CONFLICT (order_id) DO NOTHING`;
    },
    async releaseApplied() {
      const [row] = await tx<{ applied: boolean }[]>`
        SELECT released_at IS NOT NULL AS applied FROM stock_releases WHERE order_id = ${order_id}`;
      return row?.applied === true;
    },
    async releaseConsumed() {
      await tx`UPDATE stock_releases SET released_at = now() WHERE order_id = ${order_id} AND released_at IS NULL`;
    },
    recordCancelRequest: (customer_id) => recordCancelRequest(tx, order_id, customer_id),
    cancelRequested: () => cancelRequested(tx, order_id),
    settleCancelRequest: (reason, status) => settleCancelRequest(tx, order_id, reason, status),
  };
}

async function transition(
  tx: Tx,
  order_id: string,
  from: OrderStatus[],
  to: OrderStatus,
  actor: string,
  reason: string,
): Promise<Transitioned | null> {
  const [row] = await tx<(OrderRow & { old_status: OrderStatus })[]>`
    WITH old AS (SELECT order_id, status FROM orders WHERE order_id = ${order_id} FOR UPDATE)
    UPDATE orders o SET status = ${to},
      paid_at = CASE WHEN ${to} = 'paid' THEN now() ELSE o.paid_at END,
      closed_at = CASE WHEN ${to} = 'reserved' THEN NULL ELSE now() END
    FROM old
    WHERE o.order_id = old.order_id AND old.status = ANY(${from}::text[])
    RETURNING ${tx(ORDER_COLUMNS.map((c) => `o.${c}`))}, old.status AS old_status`;
  if (!row) return null;
  await tx`INSERT INTO order_events (order_id, from_status, to_status, actor, reason)
    VALUES (${order_id}, ${row.old_status}, ${to}, ${actor}, ${reason})`;
  return { order: orderFromRow(row), from: row.old_status };
}

/**
 * One statement: the orders of the batch still reserved are locked in id order (two overlapping
 * batches never deadlock; a row changed meanwhile is re-checked by PostgreSQL and skipped if no
 * longer reserved), expired, and get their order_events row and release marker.
 */
async function expireReserved(
  sql: Sql,
  order_ids: string[],
  actor: string,
  reason: string,
): Promise<ReleaseTicket[]> {
  if (order_ids.length === 0) return [];
  const rows = await sql<(ReleaseTicket & { product_id: string })[]>`
    WITH target AS (
      SELECT o.order_id FROM orders o WHERE o.order_id = ANY(${order_ids}::uuid[]) AND o.status = 'reserved'
        AND NOT ${paymentWaiting(sql)}
      ORDER BY o.order_id FOR UPDATE OF o),
    moved AS (
      UPDATE orders o SET status = 'expired', closed_at = now() FROM target t
      WHERE o.order_id = t.order_id
      RETURNING o.order_id, o.product_id, o.customer_id, o.qty),
    events AS (
      INSERT INTO order_events (order_id, from_status, to_status, actor, reason)
      SELECT order_id, 'reserved', 'expired', ${actor}, ${reason} FROM moved),
    markers AS (
      INSERT INTO stock_releases (order_id, product_id, customer_id, qty)
      SELECT order_id, product_id, customer_id, qty FROM moved ON CONFLICT (order_id) DO NOTHING)
    SELECT order_id, product_id, customer_id, qty FROM moved`;
  return rows.map((r) => ({ ...r, product_id: Number(r.product_id) }));
}

interface PaymentEventRow {
  webhook_id: string;
  type: PaymentEvent['type'];
  order_id: string;
  amount_cents: string;
  currency: string;
  payment_id: string;
}

const eventFromRow = (r: PaymentEventRow): PaymentEvent => ({ ...r, amount_cents: Number(r.amount_cents) });

export interface SettlementHooks {
  /** tests hold a unit of work open here to force interleavings */
  beforeCommit?: () => Promise<void>;
}

export function pgSettlementStore(sql: Sql, hooks: SettlementHooks = {}): SettlementStore {
  return {
    withOrderLocked<T>(order_id: string, work: (order: LockedOrder) => Promise<T>): Promise<T> {
      return sql.begin(async (tx) => {
        await lockOrderId(tx, order_id);
        const result = await work(lockedOrder(tx, order_id));
        await hooks.beforeCommit?.();
        return result;
      }) as Promise<T>;
    },
    async tryWithOrderLocked<T>(order_id: string, work: (order: LockedOrder) => Promise<T>) {
      const r = (await sql.begin(async (tx) => {
        const [got] = await tx<{ locked: boolean }[]>`
          SELECT pg_try_advisory_xact_lock(${orderLockKey(tx, order_id)}) AS locked`;
        if (!got?.locked) return { busy: true };
        const result = await work(lockedOrder(tx, order_id));
        await hooks.beforeCommit?.();
        return { busy: false, result };
      })) as { busy: true } | { busy: false; result: T };
      return r.busy ? ('busy' as const) : r.result;
    },
    async pendingPayments(order_ids) {
      if (order_ids.length === 0) return [];
      const rows = await sql<PaymentEventRow[]>`
        SELECT webhook_id, type, order_id, amount_cents, currency, payment_id FROM payment_events
        WHERE status = 'pending' AND order_id = ANY(${order_ids}::uuid[]) ORDER BY received_at, webhook_id`;
      return rows.map(eventFromRow);
    },
    async successWaiting(order_ids) {
      if (order_ids.length === 0) return [];
      const rows = await sql<{ order_id: string }[]>`
        SELECT o.order_id FROM orders o WHERE o.order_id = ANY(${order_ids}::uuid[]) AND ${paymentWaiting(sql)}`;
      return rows.map((r) => r.order_id);
    },
    async strandedPaymentOrders(limit, scope = null) {
      const rows = await sql<{ order_id: string }[]>`
        SELECT DISTINCT e.order_id FROM payment_events e JOIN orders o USING (order_id)
        WHERE e.status = 'pending' ${scopeFilter(sql, 'o.product_id', scope)} LIMIT ${limit}`;
      return rows.map((r) => r.order_id);
    },
    requestedCancels: (order_ids) => requestedCancels(sql, order_ids),
    strandedCancelOrders: (limit, scope = null) => strandedCancelOrders(sql, limit, scope),
    async orphanStalePayments(hours) {
      let orphaned = 0;
      for (;;) {
        const candidates = await sql<{ order_id: string }[]>`
          SELECT DISTINCT e.order_id FROM payment_events e WHERE ${stalePending(sql, hours)}
          LIMIT ${ORPHAN_BATCH_MAX}`;
        if (candidates.length === 0) return orphaned;
        const n = await orphanLocked(
          sql,
          candidates.map((c) => c.order_id),
          hours,
        );
        orphaned += n;
        if (candidates.length < ORPHAN_BATCH_MAX || n === 0) return orphaned;
      }
    },
    async overdueReservations(limit, scope = null) {
      const rows = await sql<{ order_id: string }[]>`
        SELECT o.order_id FROM orders o WHERE o.status = 'reserved' AND o.expires_at < now()
          AND NOT ${paymentWaiting(sql)} ${scopeFilter(sql, 'o.product_id', scope)}
        ORDER BY o.expires_at LIMIT ${limit}`;
      return rows.map((r) => r.order_id);
    },
    expireReserved: (order_ids, actor, reason) => expireReserved(sql, order_ids, actor, reason),
  };
}
