// Settling payments: a webhook's event, and events that arrived before their order was persisted
// (applied right after persistence, or by the release run). The event is stored once and applied
// in the same unit of work, with the order's row locked: the decision (lib/sale/order-rules.ts) is
// made here, on the order as the lock shows it, and only the winner gives units back after commit.
import { decideAfterRetake, decidePayment, type PaymentEvent, type PaymentResult } from './order-rules';
import { ticketOf, transitionLocked } from './order-transition';
import {
  InventoryUnavailableError,
  type LockedOrder,
  type OrderLocks,
  type ReleaseTicket,
  type SettlementQueries,
  type SettlingInventory,
} from './ports';
import { type ReleaseDeps, releaseNow } from './release-units';
import type { Order, OrderStatus } from './types';

export interface PaymentDeps extends ReleaseDeps {
  inventory: Pick<SettlingInventory, 'releaseBatch' | 'retake'>;
  settlement: OrderLocks & Pick<SettlementQueries, 'pendingPayments'>;
}

export interface PaymentOutcome {
  result: PaymentResult;
  release: ReleaseTicket | null;
}

export async function handlePayment(
  deps: PaymentDeps,
  event: PaymentEvent,
): Promise<PaymentResult | { result: 'unavailable'; product_id: number }> {
  try {
    const { result, releases } = await deps.settlement.withOrderLocked(event.order_id, async (order) => {
      if (!(await order.recordPayment(event)))
        return { result: { result: 'duplicate' } as PaymentResult, releases: [] };
      return applyInOrder(deps, order, event);
    });
    await releaseNow(deps, releases);
    return result;
  } catch (err) {
    // A late success whose product is being rebuilt: nothing stored, the provider retries.
    if (err instanceof InventoryUnavailableError)
      return { result: 'unavailable', product_id: err.product_id };
    throw err;
  }
}

/**
 * The order's pending events in the order they came, this one last: events stored while the order
 * was not yet in PostgreSQL wait for persistOrders to apply them, and one arriving once the row is
 * there must not overtake them (a stale decline delivered after a success would otherwise be applied
 * first and the success ignored). Returns this event's result and every release the applied free.
 */
async function applyInOrder(
  deps: PaymentDeps,
  order: LockedOrder,
  event: PaymentEvent,
): Promise<{ result: PaymentResult; releases: ReleaseTicket[] }> {
  const releases: ReleaseTicket[] = [];
  let result: PaymentResult = { result: 'pending' };
  for (const pending of await order.pendingPayments()) {
    const outcome = await applyPayment(deps, order, pending);
    if (outcome.release) releases.push(outcome.release);
    if (pending.webhook_id === event.webhook_id) result = outcome.result;
  }
  return { result, releases };
}

/** Applies the stored pending events of these orders, oldest first, and gives back what they free. */
export async function applyPendingPayments(
  deps: PaymentDeps,
  order_ids: string[],
): Promise<PaymentOutcome[]> {
  if (order_ids.length === 0) return [];
  const outcomes: PaymentOutcome[] = [];
  for (const event of await deps.settlement.pendingPayments(order_ids)) {
    const outcome = await deps.settlement
      .withOrderLocked(event.order_id, async (order) =>
        (await order.paymentPending(event.webhook_id)) ? applyPayment(deps, order, event) : null,
      )
      .catch((err: unknown) => {
        // Product being rebuilt: the event stays pending; the release run applies it afterwards.
        if (err instanceof InventoryUnavailableError) return null;
        throw err;
      });
    if (outcome) outcomes.push(outcome);
  }
  await releaseNow(
    deps,
    outcomes.flatMap((o) => (o.release ? [o.release] : [])),
  );
  return outcomes;
}

async function applyPayment(
  deps: PaymentDeps,
  order: LockedOrder,
  event: PaymentEvent,
): Promise<PaymentOutcome> {
  const current = await order.load();
  if (!current) return { result: { result: 'pending' }, release: null };
  const decision = decidePayment(current, event);
  if (decision.kind === 'ignore') {
    await order.settlePayment(event.webhook_id, 'ignored', decision.reason, current.status);
    return { result: { result: 'ignored', reason: decision.reason, status: current.status }, release: null };
  }
  const { to, reason } =
    decision.kind === 'retake' ? await retake(deps, order, current, decision.reason) : decision;
  const t = await transitionLocked(order, [current.status], to, `payment:${event.webhook_id}`, reason);
  if (!t) throw new Error(`order ${current.order_id} changed under its row lock`); // cannot happen: assert
  await order.settlePayment(event.webhook_id, 'applied', reason, to);
  return { result: { result: 'applied', status: to }, release: t.release };
}

/** A late success on an expired order: the inventory takes the units again if they are free. */
async function retake(
  deps: PaymentDeps,
  order: LockedOrder,
  current: Order,
  reason: string,
): Promise<{ to: OrderStatus; reason: string }> {
  const outcome = await deps.inventory.retake(ticketOf(current), await order.releaseApplied());
  // Thrown inside the unit of work: the event is not stored, the provider's retry decides.
  if (outcome === 'unavailable') throw new InventoryUnavailableError(current.product_id);
  return decideAfterRetake(outcome, reason);
}
