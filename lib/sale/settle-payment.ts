// Settling payments: a webhook's event, and events that arrived before their order was persisted
// (applied right after persistence, or by the release run). The event is stored once and applied
// in the same unit of work, with the order's row locked and after the order's events stored before
// it (applyStored, the one place pending events are applied): the decision (lib/sale/order-rules.ts)
// is made here, on the order as the lock shows it, and only the winner gives units back after commit.

import { applyRecordedCancel } from './cancel-order';
import {
  decideAfterRetake,
  decidePayment,
  HOLDING,
  type PaymentEvent,
  type PaymentResult,
} from './order-rules';
import { ticketOf, transitionLocked } from './order-transition';
import {
  InventoryUnavailableError,
  type LockedOrder,
  type OrderLocks,
  type OrderTryLocks,
  type ReleaseTicket,
  type SettlementQueries,
  type SettlingInventory,
} from './ports';
import { type ReleaseDeps, releaseNow } from './release-units';
import type { Order, OrderStatus } from './types';

export interface PaymentDeps extends ReleaseDeps {
  inventory: Pick<
    SettlingInventory,
    'releaseBatch' | 'reconcile' | 'retake' | 'claimReplay' | 'cancelFlagged'
  >;
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
    const { result, releases } = await deps.settlement.withOrderLocked(
      event.order_id,
      async (order): Promise<{ result: PaymentResult; releases: ReleaseTicket[] }> => {
        if (!(await order.recordPayment(event))) return { result: { result: 'duplicate' }, releases: [] };
        const { applied, releases } = await applyStored(deps, order);
        return {
          // this event is among them: it was stored pending just now
          result: applied.find((a) => a.webhook_id === event.webhook_id)?.result ?? { result: 'pending' },
          releases,
        };
      },
    );
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
 * Applies the stored pending events of these orders (persistOrders after a batch, the release run for
 * stranded ones), one unit of work per order, and gives back what they free.
 */
export async function applyPendingPayments(
  deps: PaymentDeps,
  order_ids: string[],
): Promise<PaymentOutcome[]> {
  if (order_ids.length === 0) return [];
  const waiting = new Set((await deps.settlement.pendingPayments(order_ids)).map((e) => e.order_id));
  const outcomes: PaymentOutcome[] = [];
  const releases: ReleaseTicket[] = [];
  for (const order_id of waiting) {
    const stored = await deps.settlement
      .withOrderLocked(order_id, (order) => applyStored(deps, order))
      .catch((err: unknown) => {
        // Product being rebuilt: its events stay pending; the release run applies them afterwards.
        if (err instanceof InventoryUnavailableError) return { applied: [], releases: [] };
        throw err;
      });
    outcomes.push(...stored.applied);
    releases.push(...stored.releases);
  }
  await releaseNow(deps, releases);
  return outcomes;
}

/**
 * Under the order's lock, every event of it still pending, in the order they were stored, each
 * decided on the order as the one before left it: whoever applies them (the webhook that finds the
 * row, persistOrders, the release run), an event never overtakes one stored before it (a stale
 * decline delivered after an early success is then ignored, not applied first), nor a cancel
 * recorded before the order was a row (applyRecordedCancel: applied first). Returns the outcomes and
 * every release they (and the cancel) free.
 */
async function applyStored(
  deps: PaymentDeps,
  order: LockedOrder,
): Promise<{ applied: (PaymentOutcome & { webhook_id: string })[]; releases: ReleaseTicket[] }> {
  const applied: (PaymentOutcome & { webhook_id: string })[] = [];
  const events = await order.pendingPayments();
  const cancel = events.length > 0 ? await applyRecordedCancel(deps, order) : null;
  for (const event of events) {
    applied.push({ webhook_id: event.webhook_id, ...(await applyPayment(deps, order, event)) });
  }
  return { applied, releases: [...(cancel ? [cancel] : []), ...releasesOf(applied)] };
}

const releasesOf = (outcomes: PaymentOutcome[]) => outcomes.flatMap((o) => (o.release ? [o.release] : []));

async function applyPayment(
  deps: PaymentDeps,
  order: LockedOrder,
  event: PaymentEvent,
): Promise<PaymentOutcome> {
  let current = await order.load();
  if (!current) return { result: { result: 'pending' }, release: null };
  let decision = decidePayment(current, event);
  if (decision.kind === 'retake' && (await cancelFlaggedOnly(deps, order, current))) {
    current = (await order.load()) ?? current;
    decision = decidePayment(current, event);
  }
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

/**
 * A late success is about to take an expired order's units again: a cancel only flagged in Redis (taken
 * by the previous release during a deploy, no order_cancel_requests row) is recorded and applied
 * first (expired -> cancelled), so the success meets the customer's decision (refund_required).
 * Otherwise the order became paid before the redelivery's ack reported the flag, and the flag could
 * no longer move it (a second release of a re-taken order is a no-op in Redis). True if it did.
 */
async function cancelFlaggedOnly(deps: PaymentDeps, order: LockedOrder, current: Order): Promise<boolean> {
  if (!(await deps.inventory.cancelFlagged(current.order_id, current.product_id))) return false;
  await order.recordCancelRequest(current.customer_id);
  const freed = await applyRecordedCancel(deps, order);
  // cannot happen: an expired order holds no units (assert, as transitionLocked's callers do)
  if (freed) throw new Error(`order ${current.order_id}: a cancel of an expired order freed units`);
  return true;
}

export interface RetakeRepairDeps {
  inventory: Pick<SettlingInventory, 'unconfirmedRetakes' | 'undoRetake' | 'forgetRetake'>;
  settlement: OrderTryLocks;
  log: ReleaseDeps['log'];
}

/**
 * The release run's backstop for retake() below: the retake writes in Redis inside the payment's
 * unit of work, before its commit. If that unit of work never commits (the process dies, the commit
 * fails, and the provider does not retry), Redis holds units for an order PostgreSQL says holds
 * none: drift no release would ever fix (the expiry's release is consumed or already applied).
 * Under the order's lock (a retake still running holds it until its commit: such an order is
 * skipped, never waited for, and looked at again by the next run), an order that holds no units
 * gets them given back; any other (paid: the retake committed) just drops its entry. Returns how
 * many retakes were undone.
 */
export async function settleUnconfirmedRetakes(
  deps: RetakeRepairDeps,
  product_ids: number[],
  older_than_ms: number,
  limit: number,
): Promise<number> {
  let undone = 0;
  for (const { order_id, product_id } of await deps.inventory.unconfirmedRetakes(
    product_ids,
    older_than_ms,
    limit,
  )) {
    const outcome = await deps.settlement.tryWithOrderLocked(order_id, async (order) => {
      const current = await order.load();
      if (current && !HOLDING.has(current.status)) return deps.inventory.undoRetake(ticketOf(current));
      await deps.inventory.forgetRetake(product_id, order_id);
      return 'confirmed' as const;
    });
    if (outcome === 'undone') {
      undone++;
      deps.log.warn("a late payment's retake never committed: its units are given back", {
        order_id,
        product_id,
      });
    }
  }
  return undone;
}

/** A late success on an expired order: the inventory takes the units again if they are free. */
async function retake(
  deps: PaymentDeps,
  order: LockedOrder,
  current: Order,
  reason: string,
): Promise<{ to: OrderStatus; reason: string }> {
  const outcome = await deps.inventory.retake(ticketOf(current), await order.releaseApplied());
  if (outcome === 'forgotten') {
    deps.log.error('Redis lost an applied release (partial rollback): product closed for a rebuild', {
      product_id: current.product_id,
      order_id: current.order_id,
    });
  }
  // Thrown inside the unit of work: the event is not stored, the provider's retry decides.
  if (outcome === 'unavailable' || outcome === 'forgotten') {
    throw new InventoryUnavailableError(current.product_id);
  }
  if (outcome === 'held') await order.releaseConsumed();
  return decideAfterRetake(outcome, reason);
}
