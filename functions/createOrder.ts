// POST /api/orders: reserve units in one atomic inventory call, queue the order, answer 202.

import { IdempotencyKey } from '../lib/http/order-schemas';
import { reservationOutcome, reservationOutcomeOfProblem, reserveResult } from '../lib/http/outcomes';
import { Problem } from '../lib/http/problems';
import { route } from '../lib/http/route';
import * as routes from '../lib/http/routes/create-order';
import { domainLog } from '../lib/platform/logger';
import { countReservation } from '../lib/platform/metrics';
import { inventory, orderQueue } from '../lib/request-path';
import { reserveOrder } from '../lib/sale/reserve';

export const handler = route(
  {
    ...routes.createOrder,
    onProblem: (code) => countReservation(reservationOutcomeOfProblem(code)),
  },
  async ({ event, identity, body, correlate }) => {
    const idempotency_key = idempotencyKeyOf(event.headers['idempotency-key']);
    const outcome = await reserveOrder(
      { inventory: inventory(), queue: orderQueue(), log: domainLog },
      { customer_id: identity.customer_id, product_id: body.product_id, qty: body.qty, idempotency_key },
    );
    countReservation(reservationOutcome(outcome.kind));
    if (outcome.kind === 'reserved') correlate(outcome.order.order_id);
    return reserveResult(outcome);
  },
);

function idempotencyKeyOf(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const parsed = IdempotencyKey.safeParse(raw);
  if (!parsed.success) {
    throw new Problem('invalid-request', 'Idempotency-Key: 1-255 printable ASCII characters', {
      errors: [{ field: 'Idempotency-Key', message: '1-255 printable ASCII characters' }],
    });
  }
  return parsed.data;
}
