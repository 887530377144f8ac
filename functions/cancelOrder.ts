// POST /api/orders/{order_id}/cancel: the owner cancels a reserved order; units back exactly once.
import { settleDeps } from '../lib/container';
import { unavailable } from '../lib/http/outcomes';
import { Problem } from '../lib/http/problems';
import { json, route } from '../lib/http/route';
import * as routes from '../lib/http/routes/buyer';
import { orderView } from '../lib/http/views';
import { cancelOrder } from '../lib/sale/cancel-order';
import { isUuid } from '../lib/sale/order-id';

export const handler = route(routes.cancelOrder, async ({ event, identity, correlate }) => {
  const order_id = (event.pathParameters?.['order_id'] ?? '').toLowerCase();
  if (isUuid(order_id)) correlate(order_id);
  const r = isUuid(order_id)
    ? await cancelOrder(settleDeps(), order_id, identity)
    : { kind: 'not_found' as const };
  switch (r.kind) {
    case 'cancelled':
      return json(200, orderView(r.order));
    case 'pending':
      return json(202, orderView(r.order, { cancel_pending: true }));
    case 'not_cancellable':
      // RFC 9457 keeps `status` for the HTTP status; the order's status travels as `order_status`.
      throw new Problem('order-not-cancellable', `the order is ${r.status}`, { order_status: r.status });
    case 'not_found':
      throw new Problem('order-not-found', 'no such order');
    case 'unavailable':
      return unavailable("the order's product is being rebuilt after a data loss; retry shortly");
  }
});
