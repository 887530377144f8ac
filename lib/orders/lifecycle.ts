// Order transitions in PostgreSQL. Every change is a conditional UPDATE (exactly one racer wins)
// plus an order_events row; a transition that frees units also writes its stock_releases marker in
// the same transaction, so the Redis release that follows the commit can always be finished later.
import { decidePayment, HOLDING, type PaymentEvent } from '../sale/lifecycle';
import {
  InventoryUnavailableError,
  type OrderLifecycle,
  type PaymentOutcome,
  type ReleaseTicket,
  type RetakeFn,
  type RetakeOutcome,
  type Straggler,
  type TransitionOutcome,
} from '../sale/ports';
import type { Order, OrderStatus } from '../sale/types';
import type { Sql, Tx } from './db';
import { ORDER_COLUMNS, type OrderRow, orderFromRow } from './rows';

export type TransitionResult = TransitionOutcome;

const RETAKE_REASONS: Record<Exclude<RetakeOutcome, 'unavailable'>, string> = {
  held: 'units still held',
  retaken: 'units taken again',
  insufficient: 'units no longer available',
  over_limit: 'the customer bought again meanwhile; the units would exceed the per-customer limit',
};

/** Serialises everything that concerns one order id (webhook vs persist: the early-webhook race). */
export async function lockOrderId(tx: Tx, order_id: string): Promise<void> {
  await tx`SELECT pg_advisory_xact_lock(hashtextextended(${order_id}, 0))`;
}

export async function transition(
  tx: Tx,
  order_id: string,
  from: OrderStatus[],
  to: OrderStatus,
  actor: string,
  reason: string,
): Promise<TransitionResult | null> {
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
  const order = orderFromRow(row);
  let release: ReleaseTicket | null = null;
  if (HOLDING.has(row.old_status) && !HOLDING.has(to)) {
    release = { order_id, product_id: order.product_id, customer_id: order.customer_id, qty: order.qty };
    await tx`INSERT INTO stock_releases ${tx(release)} ON CONFLICT (order_id) DO NOTHING`;
  }
  return { order, from: row.old_status, release };
}

export async function lockedOrder(tx: Tx, order_id: string): Promise<Order | null> {
  const [row] = await tx<
    OrderRow[]
  >`SELECT ${tx(ORDER_COLUMNS)} FROM orders WHERE order_id = ${order_id} FOR UPDATE`;
  return row ? orderFromRow(row) : null;
}

/**
 * Store the event once (by webhook id) and apply it, in one transaction. `retake` runs inside the
 * transaction, with the order row locked, only for a success on an expired order.
 */
export async function receivePayment(
  sql: Sql,
  event: PaymentEvent,
  retake: RetakeFn,
  hooks: { beforeCommit?: () => Promise<void> } = {},
): Promise<PaymentOutcome> {
  return sql.begin(async (tx) => {
    await lockOrderId(tx, event.order_id);
    const inserted = await tx`
      INSERT INTO payment_events (webhook_id, type, order_id, amount_cents, currency, payment_id, status)
      VALUES (${event.webhook_id}, ${event.type}, ${event.order_id}, ${event.amount_cents}, ${event.currency},
              ${event.payment_id}, 'pending')
      ON CONFLICT (webhook_id) DO NOTHING RETURNING webhook_id`;
    if (inserted.length === 0) return { result: { result: 'duplicate' }, release: null };
    const outcome = await applyStored(tx, event, retake);
    await hooks.beforeCommit?.(); // tests hold the transaction open here to force interleavings
    return outcome;
  });
}

/** Applies stored pending events of the given orders (after persist, and in the release run). */
export async function applyPendingPayments(
  sql: Sql,
  order_ids: string[],
  retake: RetakeFn,
): Promise<PaymentOutcome[]> {
  if (order_ids.length === 0) return [];
  const pending = await sql<PaymentEventRow[]>`
    SELECT webhook_id, type, order_id, amount_cents, currency, payment_id FROM payment_events
    WHERE status = 'pending' AND order_id = ANY(${order_ids}::uuid[]) ORDER BY received_at`;
  const outcomes: PaymentOutcome[] = [];
  for (const row of pending) {
    const event = eventFromRow(row);
    const outcome = await sql
      .begin(async (tx) => {
        await lockOrderId(tx, event.order_id);
        const [still] = await tx`SELECT 1 FROM payment_events WHERE webhook_id = ${event.webhook_id}
        AND status = 'pending' FOR UPDATE`;
        return still ? applyStored(tx, event, retake) : null;
      })
      .catch((err: unknown) => {
        // Product being rebuilt: the event stays pending; the release run applies it afterwards.
        if (err instanceof InventoryUnavailableError) return null;
        throw err;
      });
    if (outcome) outcomes.push(outcome);
  }
  return outcomes;
}

async function applyStored(tx: Tx, event: PaymentEvent, retake: RetakeFn): Promise<PaymentOutcome> {
  const order = await lockedOrder(tx, event.order_id);
  if (!order) return { result: { result: 'pending' }, release: null };
  const decision = decidePayment(order, event);
  const actor = `payment:${event.webhook_id}`;
  if (decision.kind === 'ignore') {
    await settleEvent(tx, event.webhook_id, 'ignored', decision.reason, order.status);
    return { result: { result: 'ignored', reason: decision.reason, status: order.status }, release: null };
  }
  let to: OrderStatus;
  let reason = decision.reason;
  if (decision.kind === 'retake') {
    const r = await retake(order, await releaseApplied(tx, order.order_id));
    // Thrown inside the transaction: the event is not stored, the provider's retry decides.
    if (r === 'unavailable') throw new InventoryUnavailableError(order.product_id);
    to = r === 'insufficient' || r === 'over_limit' ? 'refund_required' : 'paid';
    reason = `${reason}; ${RETAKE_REASONS[r]}`;
  } else {
    to = decision.to;
  }
  const t = await transition(tx, order.order_id, [order.status], to, actor, reason);
  if (!t) throw new Error(`order ${order.order_id} changed under its row lock`); // cannot happen: assert
  await settleEvent(tx, event.webhook_id, 'applied', reason, to);
  return { result: { result: 'applied', status: to }, release: t.release };
}

/**
 * PostgreSQL's record of the release: stock_releases.released_at is set once Redis gave the units
 * back. The late-payment decision trusts it over Redis's `released` hash, which a data loss (or
 * pruning) can remove.
 */
async function releaseApplied(tx: Tx, order_id: string): Promise<boolean> {
  const [row] = await tx<{ applied: boolean }[]>`
    SELECT released_at IS NOT NULL AS applied FROM stock_releases WHERE order_id = ${order_id}`;
  return row?.applied === true;
}

async function settleEvent(
  tx: Tx,
  webhook_id: string,
  status: string,
  reason: string,
  order_status: OrderStatus,
) {
  await tx`UPDATE payment_events SET status = ${status}, reason = ${reason}, order_status = ${order_status},
    handled_at = now() WHERE webhook_id = ${webhook_id}`;
}

interface PaymentEventRow {
  webhook_id: string;
  type: PaymentEvent['type'];
  order_id: string;
  amount_cents: string;
  currency: string;
  payment_id: string;
}

function eventFromRow(r: PaymentEventRow): PaymentEvent {
  return { ...r, amount_cents: Number(r.amount_cents) };
}

/** A conditional transition in its own transaction (cancel, expiry). */
export async function transitionOne(
  sql: Sql,
  order_id: string,
  from: OrderStatus[],
  to: OrderStatus,
  actor: string,
  reason: string,
): Promise<TransitionResult | null> {
  return sql.begin((tx) => transition(tx, order_id, from, to, actor, reason));
}

/** Overdue reservations, oldest first. Overlapping runs may pick the same ones: the conditional
 * transition lets exactly one of them expire each. */
export async function overdueReservations(sql: Sql, limit: number): Promise<string[]> {
  const rows = await sql<{ order_id: string }[]>`
    SELECT order_id FROM orders WHERE status = 'reserved' AND expires_at < now()
    ORDER BY expires_at LIMIT ${limit}`;
  return rows.map((r) => r.order_id);
}

export async function unappliedReleases(
  sql: Sql,
  older_than_s: number,
  limit: number,
): Promise<ReleaseTicket[]> {
  const rows = await sql<(ReleaseTicket & { product_id: string })[]>`
    SELECT order_id, product_id, customer_id, qty FROM stock_releases
    WHERE released_at IS NULL AND created_at < now() - make_interval(secs => ${older_than_s})
    ORDER BY created_at LIMIT ${limit}`;
  return rows.map((r) => ({ ...r, product_id: Number(r.product_id) }));
}

export async function markReleased(sql: Sql, order_ids: string[]): Promise<void> {
  if (order_ids.length === 0) return;
  await sql`UPDATE stock_releases SET released_at = now()
    WHERE order_id = ANY(${order_ids}::uuid[]) AND released_at IS NULL`;
}

export async function prunableReleases(
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

export async function markPruned(sql: Sql, order_ids: string[]): Promise<void> {
  if (order_ids.length === 0) return;
  await sql`UPDATE stock_releases SET pruned_at = now() WHERE order_id = ANY(${order_ids}::uuid[])`;
}

/** Pending events whose order exists (stranded by a crash) — the release run applies them. */
export async function strandedPaymentOrders(sql: Sql, limit: number): Promise<string[]> {
  const rows = await sql<{ order_id: string }[]>`
    SELECT DISTINCT e.order_id FROM payment_events e JOIN orders o USING (order_id)
    WHERE e.status = 'pending' LIMIT ${limit}`;
  return rows.map((r) => r.order_id);
}

/** Pending events never matched by an order within `hours` become orphaned, for the operator. */
export async function orphanStalePayments(sql: Sql, hours: number): Promise<number> {
  const rows = await sql`
    UPDATE payment_events e SET status = 'orphaned', reason = 'no such order within ' || ${hours} || ' hours',
      handled_at = now()
    WHERE e.status = 'pending' AND e.received_at < now() - make_interval(hours => ${hours})
      AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = e.order_id)
    RETURNING webhook_id`;
  return rows.length;
}

/** How long after a rebuild the release run still looks for stragglers it may have missed. */
const STRAGGLER_WINDOW_H = 24;

/**
 * Orders a live rebuild did not count: accepted before the product reopened (created_at is Redis's
 * clock, like reopened_at) and inserted by a transaction that rebuild's snapshot does not see.
 * Exact, with no reading of queue counters: visibility is PostgreSQL's own.
 */
export async function uncounted(sql: Sql, order_ids: string[] | null, limit: number): Promise<Straggler[]> {
  const rows = await sql<(Straggler & { product_id: string; rebuild_id: string })[]>`
    WITH live AS (
      SELECT DISTINCT ON (product_id) id, product_id, snapshot, counted_at, reopened_at
      FROM inventory_rebuilds WHERE reopened_at IS NOT NULL
      ORDER BY product_id, id DESC)
    SELECT o.order_id, o.product_id, o.customer_id, o.qty, l.id AS rebuild_id
    FROM live l JOIN orders o ON o.product_id = l.product_id
    WHERE ${order_ids === null ? sql`l.reopened_at > now() - make_interval(hours => ${STRAGGLER_WINDOW_H}) AND o.persisted_at > l.counted_at - interval '1 hour'` : sql`o.order_id = ANY(${order_ids}::uuid[])`}
      AND o.inserted_xid IS NOT NULL
      AND o.created_at < l.reopened_at
      AND NOT pg_visible_in_snapshot(o.inserted_xid, l.snapshot)
      AND NOT EXISTS (SELECT 1 FROM rebuild_reconciled x WHERE x.rebuild_id = l.id AND x.order_id = o.order_id)
    ORDER BY o.created_at LIMIT ${limit}`;
  return rows.map((r) => ({ ...r, product_id: Number(r.product_id), rebuild_id: Number(r.rebuild_id) }));
}

export function pgLifecycle(sql: Sql): OrderLifecycle {
  return {
    receivePayment: (event, retake) => receivePayment(sql, event, retake),
    applyPendingPayments: (ids, retake) => applyPendingPayments(sql, ids, retake),
    transition: (id, from, to, actor, reason) => transitionOne(sql, id, from, to, actor, reason),
    overdueReservations: (limit) => overdueReservations(sql, limit),
    unappliedReleases: (s, limit) => unappliedReleases(sql, s, limit),
    markReleased: (ids) => markReleased(sql, ids),
    prunableReleases: (products, statuses, s, limit) => prunableReleases(sql, products, statuses, s, limit),
    markPruned: (ids) => markPruned(sql, ids),
    strandedPaymentOrders: (limit) => strandedPaymentOrders(sql, limit),
    orphanStalePayments: (hours) => orphanStalePayments(sql, hours),
    uncounted: (ids, limit) => uncounted(sql, ids, limit),
    async markReconciled(rebuild_id, order_id, outcome) {
      await sql`INSERT INTO rebuild_reconciled (rebuild_id, order_id, outcome)
        VALUES (${rebuild_id}, ${order_id}, ${outcome}) ON CONFLICT DO NOTHING`;
    },
  };
}
