// Cancelling an order: by its customer (in PostgreSQL, or flagged while still in the outbox), and
// the cancels flagged before persistence, applied right after it. A conditional transition from
// `reserved` has exactly one winner; only the winner gives units back.

import { productIdOf } from './order-id';
import { decideCancel, decideFlaggedCancel } from './order-rules';
import { transitionLocked, transitionOrder } from './order-transition';
import type { OrderLocks, OrderStore, OutboxInventory, ReleaseTicket, SettlingInventory } from './ports';
import { type ReleaseDeps, releaseNow } from './release-units';
import { type Order, orderFromAccepted } from './types';

export interface CancelDeps extends ReleaseDeps {
  inventory: Pick<SettlingInventory, 'releaseBatch' | 'reconcile' | 'claimReplay'> &
    Pick<OutboxInventory, 'cancelPending' | 'beingRebuilt'>;
  orders: Pick<OrderStore, 'get'>;
  settlement: OrderLocks;
}

export type CancelResult =
  | { kind: 'cancelled'; order: Order }
  | { kind: 'pending'; order: Order }
  | { kind: 'not_cancellable'; status: Order['status'] }
  | { kind: 'not_found' }
  /** found nowhere while its product is being rebuilt: it may still be on its way */
  | { kind: 'unavailable' };

export async function cancelOrder(
  deps: CancelDeps,
  order_id: string,
  viewer: { customer_id: string; admin: boolean },
): Promise<CancelResult> {
  // Two rounds at most: an order that leaves the outbox between our reads is in PostgreSQL.
  for (let round = 0; round < 2; round++) {
    const stored = await deps.orders.get(order_id);
    if (stored) return cancelStored(deps, stored, viewer);
    const product_id = productIdOf(order_id);
    if (product_id === null) return { kind: 'not_found' };
    const flag = await deps.inventory.cancelPending(order_id, product_id, viewer.customer_id);
    if (flag.status === 'flagged') return { kind: 'pending', order: orderFromAccepted(flag.accepted) };
    if (flag.status === 'not_found') {
      return (await deps.inventory.beingRebuilt(product_id))
        ? { kind: 'unavailable' }
        : { kind: 'not_found' };
    }
  }
  return { kind: 'not_found' };
}

async function cancelStored(
  deps: CancelDeps,
  order: Order,
  viewer: { customer_id: string; admin: boolean },
): Promise<CancelResult> {
  if (order.customer_id !== viewer.customer_id) return { kind: 'not_found' };
  const d = decideCancel(order);
  if (d.kind === 'refuse') return { kind: 'not_cancellable', status: d.status };
  const t = await transitionOrder(
    deps.settlement,
    order.order_id,
    ['reserved'],
    'cancelled',
    `customer:${viewer.customer_id}`,
    'cancelled by the customer',
  );
  if (!t) {
    const now = await deps.orders.get(order.order_id);
    return { kind: 'not_cancellable', status: now?.status ?? order.status };
  }
  if (t.release) await releaseNow(deps, [t.release]);
  return { kind: 'cancelled', order: t.order };
}

/**
 * Cancels asked for while the orders were still in the outbox, applied once they are persisted (by
 * persistOrders right after its ack, again on a duplicate delivery: the decision is idempotent).
 * Each under the order's lock, decided on the order as the lock shows it: a payment or an expiry
 * that reached the row between persistOrders' commit and this call does not make the cancel vanish
 * (decideFlaggedCancel).
 */
export async function applyFlaggedCancels(
  deps: Omit<CancelDeps, 'orders'>,
  order_ids: string[],
): Promise<number> {
  const releases: ReleaseTicket[] = [];
  for (const order_id of order_ids) {
    const t = await deps.settlement.withOrderLocked(order_id, async (order) => {
      const current = await order.load();
      if (!current) return null;
      const d = decideFlaggedCancel(current, current.status === 'paid' && (await order.releaseApplied()));
      if (d.kind === 'ignore') {
        if (current.status === 'paid') {
          deps.log.error('a cancel accepted before persistence could not be applied', {
            order_id,
            why: d.reason,
          });
        }
        return null;
      }
      return transitionLocked(order, [current.status], d.to, `customer:${current.customer_id}`, d.reason);
    });
    if (t?.release) releases.push(t.release);
  }
  await releaseNow(deps, releases);
  return releases.length;
}
