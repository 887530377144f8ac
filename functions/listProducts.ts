// GET /api/products: every product with live `available`.
import { inventory } from '../lib/container';
import { json, route } from '../lib/http/route';
import { productView } from '../lib/http/views';
import { listProducts } from '../lib/sale/catalog';

export const handler = route({ auth: 'public' }, async () => {
  const now_ms = Date.now();
  const items = (await listProducts({ inventory: inventory() })).map((s) => productView(s, now_ms));
  return json(200, { items });
});
