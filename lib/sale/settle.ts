// Settling orders: payments, cancels, expiry. PostgreSQL decides (a conditional transition has
// exactly one winner); only the winner gives units back, after its commit; the Redis release is
// idempotent on the order id, and its durable marker lets the release run finish a release that a
// crash interrupted.
import { decideCancel, type PaymentEvent, type PaymentResult } from './lifecycle';
import { productIdOf } from './order-id';
import {
  type Inventory,
  InventoryUnavailableError,
  type Logger,
  type OrderLifecycle,
  type OrderStore,
  type ReleaseTicket,
  type RetakeFn,
} from './ports';
import { type Order, orderFromAccepted } from './types';

export interface SettleDeps {
  inventory: Inventory;
  lifecycle: OrderLifecycle;
  orders: OrderStore;
  log: Logger;
}

/**
 * Give units back now. If this fails, or the product's state is lost or being rebuilt ("deferred":
 * nothing written), the marker stays unstamped: the rebuild counts the order as free, or the
 * release run applies it later.
 */
export async function releaseNow(deps: SettleDeps, tickets: ReleaseTicket[]): Promise<void> {
  const done: string[] = [];
  for (const t of tickets) {
    try {
      if ((await deps.inventory.release(t)) !== 'deferred') done.push(t.order_id);
    } catch (err) {
      deps.log.warn('release deferred to the release run', { order_id: t.order_id, error: String(err) });
    }
  }
  await deps.lifecycle.markReleased(done);
}

export const retakeWith =
  (deps: SettleDeps): RetakeFn =>
  (o, released_in_pg) =>
    deps.inventory.retake(
      { order_id: o.order_id, product_id: o.product_id, customer_id: o.customer_id, qty: o.qty },
      released_in_pg,
    );

export async function handlePayment(
  deps: SettleDeps,
  event: PaymentEvent,
): Promise<PaymentResult | { result: 'unavailable'; product_id: number }> {
  try {
    const outcome = await deps.lifecycle.receivePayment(event, retakeWith(deps));
    if (outcome.release) await releaseNow(deps, [outcome.release]);
    return outcome.result;
  } catch (err) {
    // A late success whose product is being rebuilt: nothing stored, the provider retries.
    if (err instanceof InventoryUnavailableError)
      return { result: 'unavailable', product_id: err.product_id };
    throw err;
  }
}

export type CancelResult =
  | { kind: 'cancelled'; order: Order }
  | { kind: 'pending'; order: Order }
  | { kind: 'not_cancellable'; status: Order['status'] }
  | { kind: 'not_found' };

export async function cancelOrder(
  deps: SettleDeps,
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
    if (flag.status === 'not_found') return { kind: 'not_found' };
  }
  return { kind: 'not_found' };
}

async function cancelStored(
  deps: SettleDeps,
  order: Order,
  viewer: { customer_id: string; admin: boolean },
): Promise<CancelResult> {
  if (order.customer_id !== viewer.customer_id) return { kind: 'not_found' };
  const d = decideCancel(order);
  if (d.kind === 'refuse') return { kind: 'not_cancellable', status: d.status };
  const t = await deps.lifecycle.transition(
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

/** Right after persisting: cancels asked for before persistence, then payments that came early. */
export async function settleAfterPersist(
  deps: SettleDeps,
  persisted: string[],
  cancel_pending: string[],
): Promise<void> {
  const releases: ReleaseTicket[] = [];
  for (const order_id of cancel_pending) {
    const t = await deps.lifecycle.transition(
      order_id,
      ['reserved'],
      'cancelled',
      'customer',
      'cancel requested before the order was persisted',
    );
    if (t?.release) releases.push(t.release);
  }
  await releaseNow(deps, releases);
  const applied = await deps.lifecycle.applyPendingPayments(persisted, retakeWith(deps));
  await releaseNow(
    deps,
    applied.flatMap((a) => (a.release ? [a.release] : [])),
  );
}
