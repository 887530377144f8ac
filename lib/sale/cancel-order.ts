// Cancelling an order: by its customer (in PostgreSQL, or recorded while still on its way there),
// and the cancels recorded before persistence, applied right after it. A conditional transition
// from `reserved` has exactly one winner; only the winner gives units back.

import { productIdOf } from './order-id';
import { decideCancel, decideFlaggedCancel } from './order-rules';
import { transitionLocked } from './order-transition';
import type {
  LockedOrder,
  OrderLocks,
  OrderStore,
  OutboxInventory,
  ReleaseTicket,
  SettlementQueries,
  SettlingInventory,
} from './ports';
import { type ReleaseDeps, releaseNow } from './release-units';
import { type AcceptedOrder, type Order, orderFromAccepted } from './types';

export interface CancelDeps extends ReleaseDeps {
  inventory: Pick<SettlingInventory, 'releaseBatch' | 'reconcile' | 'claimReplay'> &
    Pick<OutboxInventory, 'pendingOrder' | 'cancelPending' | 'beingRebuilt'>;
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

type Viewer = { customer_id: string; admin: boolean };

/** What a unit of work on the locked order decided, and the units it frees (given back after commit). */
interface Locked {
  result: CancelResult;
  release: ReleaseTicket | null;
}

export async function cancelOrder(deps: CancelDeps, order_id: string, viewer: Viewer): Promise<CancelResult> {
  const stored = await deps.orders.get(order_id);
  if (stored) return cancelStored(deps, stored, viewer);
  const product_id = productIdOf(order_id);
  if (product_id === null) return { kind: 'not_found' };
  const pending = await deps.inventory.pendingOrder(order_id, product_id);
  if (pending) {
    if (pending.accepted.customer_id !== viewer.customer_id) return { kind: 'not_found' };
    return cancelEarly(deps, pending.accepted, viewer);
  }
  // It may have left the outbox for PostgreSQL between the two reads: look once more before a 404.
  const late = await deps.orders.get(order_id);
  if (late) return cancelStored(deps, late, viewer);
  return (await deps.inventory.beingRebuilt(product_id)) ? { kind: 'unavailable' } : { kind: 'not_found' };
}

async function cancelStored(deps: CancelDeps, seen: Order, viewer: Viewer): Promise<CancelResult> {
  // Refused from the plain read without a transaction: the owner never changes, and no status
  // other than `reserved` ever comes back to it.
  if (seen.customer_id !== viewer.customer_id) return { kind: 'not_found' };
  const d = decideCancel(seen);
  if (d.kind === 'refuse') return { kind: 'not_cancellable', status: d.status };
  const { result, release } = await deps.settlement.withOrderLocked(seen.order_id, async (order) => {
    const row = await order.load();
    return row ? cancelRow(order, row, viewer) : { result: { kind: 'not_found' as const }, release: null };
  });
  if (release) await releaseNow(deps, [release]);
  return result;
}

/**
 * The order is still on its way to PostgreSQL: the cancel is recorded there, durably, under the
 * order id's advisory lock, which persistOrders' insert takes too. Under it, either the insert has
 * committed (the row is seen: cancelled like any persisted order) or it has not, and it then commits
 * only after this record, so applying cancels right after its commit finds it (applyEarlyCancels).
 * A PostgreSQL failure throws before anything is written anywhere (the caller answers 503). The
 * Redis flag is written afterwards and only feeds the order view (and a consumer of the previous
 * release during a deploy): a flag that cannot be written costs nothing the record does not cover.
 */
async function cancelEarly(deps: CancelDeps, accepted: AcceptedOrder, viewer: Viewer): Promise<CancelResult> {
  const { result, release } = await deps.settlement.withOrderLocked(
    accepted.order_id,
    async (order): Promise<Locked> => {
      const row = await order.load();
      if (row) return cancelRow(order, row, viewer);
      await order.recordCancelRequest(viewer.customer_id);
      return { result: { kind: 'pending', order: orderFromAccepted(accepted) }, release: null };
    },
  );
  if (release) await releaseNow(deps, [release]);
  if (result.kind === 'pending') await flagForView(deps, accepted);
  return result;
}

async function flagForView(deps: CancelDeps, accepted: AcceptedOrder): Promise<void> {
  try {
    await deps.inventory.cancelPending(accepted.order_id, accepted.product_id, accepted.customer_id);
  } catch (err) {
    deps.log.warn('cancel recorded in PostgreSQL; flagging it in Redis failed', {
      order_id: accepted.order_id,
      error: String(err),
    });
  }
}

/** The row as the lock shows it: only its owner may cancel it, and only while it is reserved. */
async function cancelRow(order: LockedOrder, row: Order, viewer: Viewer): Promise<Locked> {
  if (row.customer_id !== viewer.customer_id) return { result: { kind: 'not_found' }, release: null };
  const d = decideCancel(row);
  if (d.kind === 'refuse') return { result: { kind: 'not_cancellable', status: d.status }, release: null };
  const t = await transitionLocked(
    order,
    ['reserved'],
    'cancelled',
    `customer:${viewer.customer_id}`,
    'cancelled by the customer',
  );
  if (!t) throw new Error(`order ${row.order_id} changed under its row lock`); // cannot happen: assert
  return { result: { kind: 'cancelled', order: t.order }, release: t.release };
}

export interface EarlyCancelDeps extends ReleaseDeps {
  settlement: OrderLocks & Pick<SettlementQueries, 'requestedCancels'>;
}

/**
 * Cancels asked for while these orders were still on their way to PostgreSQL, applied now that they
 * are rows: those recorded in PostgreSQL (the source of truth: it survives Redis losing the order),
 * and those only flagged in Redis (`flagged`, from the ack: a cancel taken by the previous release
 * during a deploy). By persistOrders right after its commit (again on a duplicate delivery), and by
 * the release run for any a crash left. Each under the order's lock, decided on the order as the lock
 * shows it: a payment or an expiry that reached the row first does not make the cancel vanish
 * (decideFlaggedCancel). A recorded cancel is stamped in the same unit of work, so it is applied once.
 * Returns how many orders it moved.
 */
export async function applyEarlyCancels(
  deps: EarlyCancelDeps,
  order_ids: string[],
  flagged: string[] = [],
): Promise<number> {
  const asked = new Set(flagged);
  const ids = [...new Set([...flagged, ...(await deps.settlement.requestedCancels(order_ids))])];
  const releases: ReleaseTicket[] = [];
  let applied = 0;
  for (const order_id of ids) {
    const t = await deps.settlement.withOrderLocked(order_id, (order) =>
      applyLocked(deps, order, asked.has(order_id)),
    );
    if (t === 'ignored') continue;
    applied++;
    if (t.release) releases.push(t.release);
  }
  await releaseNow(deps, releases);
  return applied;
}

/**
 * Under the order's lock, before a payment is decided on it (applyStored in settle-payment.ts): the
 * cancel recorded before the order was a row came before any payment that finds the row, so it is
 * applied first and the payment then meets the customer's decision (a success on `cancelled` is
 * refund_required). Otherwise a success that found the row expired before the cancel was applied
 * (persistOrders died after its commit, or was slower than the release run) took the units again
 * (`paid`), and the cancel could no longer be applied: the order stayed paid. Returns the units the
 * cancel frees, to give back after commit.
 */
export async function applyRecordedCancel(
  deps: Pick<ReleaseDeps, 'log'>,
  order: LockedOrder,
): Promise<ReleaseTicket | null> {
  if (!(await order.cancelRequested())) return null;
  const t = await applyLocked(deps, order, false);
  return t === 'ignored' ? null : t.release;
}

async function applyLocked(
  deps: Pick<ReleaseDeps, 'log'>,
  order: LockedOrder,
  flagged: boolean,
): Promise<{ release: ReleaseTicket | null } | 'ignored'> {
  const current = await order.load();
  if (!current) return 'ignored';
  const recorded = await order.cancelRequested();
  if (!recorded && !flagged) return 'ignored'; // applied meanwhile by another applier
  const d = decideFlaggedCancel(current, current.status === 'paid' && (await order.releaseApplied()));
  if (d.kind === 'ignore') {
    if (current.status === 'paid') {
      deps.log.error('a cancel accepted before persistence could not be applied', {
        order_id: current.order_id,
        why: d.reason,
      });
    }
    if (recorded) await order.settleCancelRequest(d.reason, current.status);
    return 'ignored';
  }
  const t = await transitionLocked(
    order,
    [current.status],
    d.to,
    `customer:${current.customer_id}`,
    d.reason,
  );
  if (!t) throw new Error(`order ${current.order_id} changed under its row lock`); // cannot happen: assert
  if (recorded) await order.settleCancelRequest(d.reason, d.to);
  return { release: t.release };
}
