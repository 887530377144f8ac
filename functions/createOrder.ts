// POST /api/orders: reserve units in one atomic inventory call, queue the order, answer 202.

import { idempotencyKeyOf } from '../lib/http/idempotency-key';
import { reservationOutcome, reservationOutcomeOfProblem, reserveResult } from '../lib/http/outcomes';
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
