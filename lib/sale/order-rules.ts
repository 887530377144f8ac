// The order state machine, as pure decisions. The settle use cases apply them through conditional
// updates, so a decision only takes effect if the order is still in the status it was decided for.
import type { RetakeOutcome } from './inventory-ports';
import type { Order, OrderStatus } from './types';

export type PaymentType = 'payment.succeeded' | 'payment.failed';

export interface PaymentEvent {
  webhook_id: string;
  type: PaymentType;
  order_id: string;
  amount_cents: number;
  currency: string;
  payment_id: string;
}

/** Statuses that hold stock: leaving them for any other status gives the units back. */
export const HOLDING: ReadonlySet<OrderStatus> = new Set(['reserved', 'paid']);
export const FINAL: ReadonlySet<OrderStatus> = new Set(['paid', 'payment_failed', 'refund_required']);
/**
 * Statuses no payment can ever retake units for (an `expired` order can: a late success), so their
 * entry in Redis's `released` hash may be pruned once the release is applied.
 */
export const NEVER_RETAKEN: readonly OrderStatus[] = [
  'cancelled',
  'payment_failed',
  'refund_required',
  'paid',
];

/** A transition from `from` to `to` gives the order's units back (it leaves the holding statuses). */
export function freesUnits(from: OrderStatus, to: OrderStatus): boolean {
  return HOLDING.has(from) && !HOLDING.has(to);
}

export type PaymentDecision =
  | { kind: 'transition'; to: OrderStatus; reason: string }
  /** expired + success: paid if the units can be taken again, else refund_required */
  | { kind: 'retake'; reason: string }
  | { kind: 'ignore'; reason: string };

/** API.md's status table for a payment arriving now. */
export function decidePayment(order: Order, event: PaymentEvent): PaymentDecision {
  if (FINAL.has(order.status)) return { kind: 'ignore', reason: `order is ${order.status} (final)` };
  // Either type (API.md): an event for another amount is not about this order's payment, and a
  // failure that is not this order's must not release its units.
  // The code is compared case-blind: payment providers send ISO 4217 codes in lower case too ("eur"),
  // and refusing those would leave a charged customer without an order.
  if (event.amount_cents !== order.amount_cents || event.currency.toUpperCase() !== order.currency) {
    return {
      kind: 'ignore',
      reason: `amount/currency mismatch: got ${event.amount_cents} ${event.currency}, order is ${order.amount_cents} ${order.currency}`,
    };
  }
  if (event.type === 'payment.failed') {
    if (order.status === 'reserved')
      return { kind: 'transition', to: 'payment_failed', reason: 'payment failed' };
    return { kind: 'ignore', reason: `payment failure for a ${order.status} order` };
  }
  switch (order.status) {
    case 'reserved':
      return { kind: 'transition', to: 'paid', reason: 'payment succeeded' };
    case 'expired':
      return { kind: 'retake', reason: 'payment succeeded after the reservation expired' };
    case 'cancelled':
      return {
        kind: 'transition',
        to: 'refund_required',
        reason: 'payment succeeded after the order was cancelled',
      };
    default:
      return { kind: 'ignore', reason: `order is ${order.status}` };
  }
}

const RETAKE_REASONS: Record<Exclude<RetakeOutcome, 'unavailable' | 'forgotten'>, string> = {
  held: 'units still held',
  retaken: 'units taken again',
  insufficient: 'units no longer available',
  over_limit: 'the customer bought again meanwhile; the units would exceed the per-customer limit',
};

/** A late success on an expired order, once the inventory said whether its units could be taken. */
export function decideAfterRetake(
  outcome: Exclude<RetakeOutcome, 'unavailable' | 'forgotten'>,
  reason: string,
): { to: OrderStatus; reason: string } {
  const to: OrderStatus = outcome === 'insufficient' || outcome === 'over_limit' ? 'refund_required' : 'paid';
  return { to, reason: `${reason}; ${RETAKE_REASONS[outcome]}` };
}

export type CancelDecision = { kind: 'cancel' } | { kind: 'refuse'; status: OrderStatus };

export function decideCancel(order: Order): CancelDecision {
  return order.status === 'reserved' ? { kind: 'cancel' } : { kind: 'refuse', status: order.status };
}

export type FlaggedCancelDecision =
  | { kind: 'transition'; to: OrderStatus; reason: string }
  | { kind: 'ignore'; reason: string };

/**
 * A cancel the owner asked for while the order was still on its way to PostgreSQL (answered `202`,
 * cancel_pending), applied once the order is persisted. It was asked for before the row could be
 * seen, so whatever reached the row in between came after it and the customer's decision stands, as
 * for a payment on a cancelled order: `reserved` is cancelled; `paid` (a success that found the row
 * first) becomes `refund_required`; `expired` becomes `cancelled` (its units are already back, and a
 * late success then ends refund_required instead of taking units again). `released_before` is
 * PostgreSQL's record of a release already applied for this order: a paid order with one was paid
 * by a late success that took its units again, and is left paid (its second release could not be
 * told apart from the first in Redis); the caller says so in the log.
 */
export function decideFlaggedCancel(order: Order, released_before: boolean): FlaggedCancelDecision {
  const reason = 'cancel requested before the order was persisted';
  switch (order.status) {
    case 'reserved':
    case 'expired':
      return { kind: 'transition', to: 'cancelled', reason };
    case 'paid':
      return released_before
        ? { kind: 'ignore', reason: 'paid by a late success that took its units again' }
        : { kind: 'transition', to: 'refund_required', reason: `${reason}; the payment came after it` };
    default:
      return { kind: 'ignore', reason: `order is ${order.status}` };
  }
}

export type PaymentResult =
  | { result: 'applied'; status: OrderStatus }
  | { result: 'duplicate' }
  | { result: 'pending' }
  | { result: 'ignored'; reason: string; status: OrderStatus };
