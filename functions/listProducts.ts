// GET /api/products: every product with live `available`.
import { inventory } from '../lib/container';
import { json, route } from '../lib/http/route';
import * as routes from '../lib/http/routes/public';
import { productView } from '../lib/http/views';
import { listProducts } from '../lib/sale/catalog';

export const handler = route(routes.listProducts, async () => {
  const now_ms = Date.now();
  const items = (await listProducts({ inventory: inventory() })).map((s) => productView(s, now_ms));
  return json(200, { items });
});
