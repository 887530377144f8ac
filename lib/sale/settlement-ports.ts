// What the settle use cases (lib/sale/settle-payment.ts, cancel-order.ts, expire-orders.ts...) need
// from the durable record. The use cases decide; these ports load, lock, write and report.
// Implemented by lib/orders/settlement-store.ts and lib/orders/release-ledger.ts.
import type { ReleaseTicket } from './inventory-ports';
import type { PaymentEvent } from './order-rules';
import type { ProductScope } from './store-ports';
import type { Order, OrderStatus } from './types';

/** A conditional transition that took place: the order after it and the status it left. */
export interface Transitioned {
  order: Order;
  from: OrderStatus;
}

export interface TransitionOutcome extends Transitioned {
  /** the units this transition frees (its release marker is written), or null */
  release: ReleaseTicket | null;
}

export type PaymentEventStatus = 'applied' | 'ignored';

/**
 * One order while its id is locked (one transaction): every method acts on that order, and what
 * the unit of work writes commits together or not at all (a throw rolls it all back).
 */
export interface LockedOrder {
  /** The order, its row locked until the unit of work ends; null while PostgreSQL has no such row. */
  load(): Promise<Order | null>;
  /** Stores a payment event as pending, once per webhook id; false when it was stored before. */
  recordPayment(event: PaymentEvent): Promise<boolean>;
  /**
   * This order's stored events still pending, in the order they were stored (locks them: a concurrent
   * applier waits, then finds them handled).
   */
  pendingPayments(): Promise<PaymentEvent[]>;
  /** Records how a stored event was handled, with the order's status after it. */
  settlePayment(
    webhook_id: string,
    status: PaymentEventStatus,
    reason: string,
    order_status: OrderStatus,
  ): Promise<void>;
  /**
   * Moves the order from one of `from` to `to` with its order_events row; null when the order is
   * in none of `from` (another racer won).
   */
  transition(
    from: OrderStatus[],
    to: OrderStatus,
    actor: string,
    reason: string,
  ): Promise<Transitioned | null>;
  /** Writes the release marker of units this unit of work frees (idempotent on the order id). */
  recordRelease(ticket: ReleaseTicket): Promise<void>;
  /**
   * PostgreSQL's record of the release: the units were given back in Redis (released_at set). The
   * late-payment decision trusts it over Redis's `released` hash, which a loss or pruning can remove.
   */
  releaseApplied(): Promise<boolean>;
  /**
   * The order's pending release will never run: a late payment found its units still held in
   * Redis (retake "held", which consumed the release there). Stamped like an applied one, so no
   * run gives a paid order's units back, even after a rollback took Redis's `held` entry.
   */
  releaseConsumed(): Promise<void>;
  /**
   * Records a cancel asked for while PostgreSQL has no row for this order (it is on its way): the
   * durable record, applied once the order is persisted. Once per order: a repeat changes nothing.
   */
  recordCancelRequest(customer_id: string): Promise<void>;
  /** A cancel recorded for this order and not applied yet (locks it until the unit of work ends). */
  cancelRequested(): Promise<boolean>;
  /** Records that the recorded cancel was applied (or could not be), with the order's status after. */
  settleCancelRequest(reason: string, order_status: OrderStatus): Promise<void>;
}

/** Units of work on one order, serialised per order id (webhook vs persist: the early-webhook race). */
export interface OrderLocks {
  withOrderLocked<T>(order_id: string, work: (order: LockedOrder) => Promise<T>): Promise<T>;
}

/** Stored payment events waiting for their order, and overdue reservations. */
export interface SettlementQueries {
  /** Pending events of these orders, oldest first. */
  pendingPayments(order_ids: string[]): Promise<PaymentEvent[]>;
  /**
   * Of these orders (in PostgreSQL), those with a successful payment stored pending that the payment
   * rules apply to them (its amount and currency): the rule every close choosing between orders
   * uses (lib/orders/rows.ts paymentWaiting), here for a straggler's key.
   */
  successWaiting(order_ids: string[]): Promise<string[]>;
  /** Orders with pending events whose order exists (stranded by a crash). */
  strandedPaymentOrders(limit: number, scope?: ProductScope): Promise<string[]>;
  /** Of these orders, those with a cancel recorded before persistence and not applied yet. */
  requestedCancels(order_ids: string[]): Promise<string[]>;
  /** Orders that exist with a cancel recorded before persistence and not applied (a crash between). */
  strandedCancelOrders(limit: number, scope?: ProductScope): Promise<string[]>;
  /**
   * Pending events never matched by an order within `hours` become orphaned, and at once those of
   * an order PostgreSQL refused (quarantined: it never becomes a row); returns how many.
   */
  orphanStalePayments(hours: number): Promise<number>;
  /**
   * Reserved orders past their expiry, oldest first (overlapping runs may see the same ones); not
   * those with a successful payment stored pending (it is applied instead, making them paid).
   */
  overdueReservations(limit: number, scope?: ProductScope): Promise<string[]>;
}

/** Expiry in bulk: one statement for a batch of orders. */
export interface BulkExpiry {
  /**
   * Every order of `order_ids` still `reserved` becomes `expired` (with its order_events row and
   * its release marker), in one statement; returns the released units of those it moved. An order
   * that left `reserved` meanwhile (a payment, a cancel, another run) is left alone, and so is one
   * with a successful payment stored pending (its payment is applied instead).
   */
  expireReserved(order_ids: string[], actor: string, reason: string): Promise<ReleaseTicket[]>;
}

/** A unit of work on one order only if nobody holds its lock now (background repairs never queue). */
export interface OrderTryLocks {
  /** Runs `work` like withOrderLocked; `busy` without running it when the order's lock is held. */
  tryWithOrderLocked<T>(order_id: string, work: (order: LockedOrder) => Promise<T>): Promise<T | 'busy'>;
}

export type SettlementStore = OrderLocks & OrderTryLocks & SettlementQueries & BulkExpiry;

export interface Straggler extends ReleaseTicket {
  rebuild_id: number;
  /** the order, when it was created under an Idempotency-Key (recently): its replay is restored */
  keyed: { order: Order; idempotency_key: string } | null;
}

/** The release markers (stock_releases) and reconciliation records. */
export interface ReleaseLedger {
  /** Releases committed in PostgreSQL but not stamped as applied in Redis, oldest first. */
  unappliedReleases(older_than_s: number, limit: number, scope?: ProductScope): Promise<ReleaseTicket[]>;
  markReleased(order_ids: string[]): Promise<void>;
  /**
   * Orders of `product_ids` in one of `statuses` whose release was applied in Redis more than
   * `older_than_s` ago and whose `released` entry is not pruned yet, oldest first.
   */
  prunableReleases(
    product_ids: number[],
    statuses: readonly OrderStatus[],
    older_than_s: number,
    limit: number,
  ): Promise<{ order_id: string; product_id: number }[]>;
  markPruned(order_ids: string[]): Promise<void>;
  /**
   * Stragglers: orders accepted before a loss that the product's live rebuild did not count, not
   * reconciled yet — among `order_ids`, or (null) among recent rebuilds' orders, at most `limit`.
   */
  uncounted(order_ids: string[] | null, limit: number, scope?: ProductScope): Promise<Straggler[]>;
  markReconciled(
    rebuild_id: number,
    order_id: string,
    outcome: 'taken' | 'oversold' | 'over_limit',
  ): Promise<void>;
}
