// A conditional transition applied by the domain through the order's unit of work: the store moves
// the row, the domain decides whether units are freed and has the release marker written in the
// same transaction (so the Redis release that follows the commit can always be finished later).
import { freesUnits } from './order-rules';
import type { LockedOrder, OrderLocks, ReleaseTicket, TransitionOutcome } from './ports';
import type { Order, OrderStatus } from './types';

export const ticketOf = (o: Order): ReleaseTicket => ({
  order_id: o.order_id,
  product_id: o.product_id,
  customer_id: o.customer_id,
  qty: o.qty,
});

export async function transitionLocked(
  order: LockedOrder,
  from: OrderStatus[],
  to: OrderStatus,
  actor: string,
  reason: string,
): Promise<TransitionOutcome | null> {
  const t = await order.transition(from, to, actor, reason);
  if (!t) return null;
  if (!freesUnits(t.from, to)) return { ...t, release: null };
  const release = ticketOf(t.order);
  await order.recordRelease(release);
  return { ...t, release };
}

/** One conditional transition in its own unit of work (cancel, rebuild, reconcile). */
export function transitionOrder(
  locks: OrderLocks,
  order_id: string,
  from: OrderStatus[],
  to: OrderStatus,
  actor: string,
  reason: string,
): Promise<TransitionOutcome | null> {
  return locks.withOrderLocked(order_id, (order) => transitionLocked(order, from, to, actor, reason));
}

/**
 * Ends an order that holds units and must not (sold twice, or a second order under one key):
 * unpaid it is `cancelled`, paid it is `refund_required`. Null if it no longer holds units.
 */
export async function closeHolding(
  locks: OrderLocks,
  order_id: string,
  actor: string,
  reason: string,
): Promise<TransitionOutcome | null> {
  return (
    (await transitionOrder(locks, order_id, ['reserved'], 'cancelled', actor, reason)) ??
    (await transitionOrder(locks, order_id, ['paid'], 'refund_required', actor, reason))
  );
}
