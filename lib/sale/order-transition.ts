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
 * Ends an order that holds units and must not (sold twice, or a second order under one key), from
 * the status a decision saw: unpaid it is `cancelled`, paid it is `refund_required`. Null if the
 * order is no longer in that status (a payment or a cancel won the race).
 */
export function closeAsSeen(
  locks: OrderLocks,
  seen: { order_id: string; status: 'reserved' | 'paid' },
  actor: string,
  reason: string,
): Promise<TransitionOutcome | null> {
  const to: OrderStatus = seen.status === 'paid' ? 'refund_required' : 'cancelled';
  return transitionOrder(locks, seen.order_id, [seen.status], to, actor, reason);
}
