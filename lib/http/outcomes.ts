// A reservation's outcome -> HTTP (createOrder), and the `Reservations` metric's outcome dimension.
// The other handlers map their own, smaller outcomes in place (cancelOrder, updateProduct,
// paymentWebhook); route() turns a returned or thrown Problem into problem+json, and answers an
// unavailable dependency and a bug.
import type { ReservationOutcome } from '../platform/metrics';
import type { ReserveOutcome } from '../sale/outcomes';
import { Problem, type ProblemCode } from './problems';
import { type Answer, json } from './route';
import { orderView } from './views';

export const RETRY_AFTER_S = 1;

export function reserveResult(o: ReserveOutcome): Answer {
  if (o.kind !== 'reserved') return refusal(o);
  return json(202, orderView(o.order), {
    Location: `/api/orders/${o.order.order_id}`,
    ...(o.replayed ? { 'Idempotent-Replayed': 'true' } : {}),
  });
}

function refusal(o: Exclude<ReserveOutcome, { kind: 'reserved' }>): Problem {
  switch (o.kind) {
    case 'product_not_found':
      return new Problem('product-not-found', 'no product with this id');
    case 'idempotency_key_reused':
      return new Problem('idempotency-key-reused', 'this Idempotency-Key was used with another body');
    case 'qty_above_limit':
      return new Problem('qty-above-limit', `qty is above max_per_order (${o.max_per_order})`, {
        max_per_order: o.max_per_order,
      });
    case 'sale_paused':
      return new Problem('sale-paused', 'the sale is paused');
    case 'sale_not_started':
      return new Problem('sale-not-started', `the sale starts at ${o.starts_at.toISOString()}`, {
        starts_at: o.starts_at.toISOString(),
      });
    case 'sale_ended':
      return new Problem('sale-ended', 'the sale has ended');
    case 'customer_limit_reached':
      return new Problem('customer-limit-reached', `you can buy ${o.remaining} more unit(s)`, {
        remaining: o.remaining,
      });
    case 'insufficient_stock':
      return new Problem('insufficient-stock', `only ${o.available} unit(s) available`, {
        available: o.available,
      });
    case 'unavailable':
      return unavailable(`${o.reason}; retry with the same Idempotency-Key`);
  }
}

/** 503 + Retry-After: the caller may retry the same request shortly. */
export function unavailable(detail: string): Problem {
  return new Problem('unavailable', detail, {}, { 'Retry-After': String(RETRY_AFTER_S) });
}

/** The operator's view of a reservation (the `Reservations` metric's `outcome` dimension). */
export function reservationOutcome(kind: ReserveOutcome['kind']): ReservationOutcome {
  switch (kind) {
    case 'reserved':
      return 'accepted';
    case 'insufficient_stock':
      return 'sold_out';
    case 'qty_above_limit':
    case 'customer_limit_reached':
      return 'limit';
    case 'sale_paused':
    case 'sale_not_started':
    case 'sale_ended':
      return 'window';
    case 'product_not_found':
    case 'idempotency_key_reused':
      return 'invalid';
    case 'unavailable':
      return 'unavailable';
  }
}

/** The same, for a request refused before the domain decided (auth, rate limit, validation). */
export function reservationOutcomeOfProblem(code: ProblemCode): ReservationOutcome {
  switch (code) {
    case 'unauthorized':
    case 'forbidden':
      return 'unauthorized';
    case 'rate-limited':
      return 'rate_limited';
    case 'unavailable':
      return 'unavailable';
    case 'internal':
      return 'error';
    default:
      return 'invalid';
  }
}
