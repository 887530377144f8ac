// GET /api/products: every product with live `available`, and the ids of any being rebuilt.
import { inventory } from '../lib/container';
import { unavailable } from '../lib/http/outcomes';
import { json, route } from '../lib/http/route';
import * as routes from '../lib/http/routes/public';
import { productView } from '../lib/http/views';
import { listProducts } from '../lib/sale/catalog';

export const handler = route(routes.listProducts, async () => {
  const now_ms = Date.now();
  const list = await listProducts({ inventory: inventory() });
  if (list === 'unavailable') {
    return unavailable('the catalogue is being rebuilt after a data loss; retry shortly');
  }
  const items = list.items.map((s) => productView(s, now_ms));
  return json(200, { items, unavailable_product_ids: list.unavailable_ids });
});
