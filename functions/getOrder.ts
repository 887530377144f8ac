// GET /api/orders/{order_id}: the owner or an admin, also before the order reaches PostgreSQL.
import { inventory, orders } from '../lib/container';
import { unavailable } from '../lib/http/outcomes';
import { Problem } from '../lib/http/problems';
import { json, route } from '../lib/http/route';
import * as routes from '../lib/http/routes/buyer';
import { orderView } from '../lib/http/views';
import { isUuid } from '../lib/sale/order-id';
import { readOrder } from '../lib/sale/read-order';

export const handler = route(routes.getOrder, async ({ event, identity }) => {
  const order_id = event.pathParameters?.['order_id'] ?? '';
  const reading = isUuid(order_id)
    ? await readOrder({ orders: orders(), inventory: inventory() }, order_id.toLowerCase(), identity)
    : null;
  if (reading === 'unavailable')
    return unavailable("the order's product is being rebuilt after a data loss; retry shortly");
  if (!reading) throw new Problem('order-not-found', 'no such order');
  return json(200, orderView(reading.order, reading.cancel_pending ? { cancel_pending: true } : {}));
});
