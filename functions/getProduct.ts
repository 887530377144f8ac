// GET /api/products/{id}: one product with live `available` from the inventory.
import { inventory } from '../lib/container';
import { unavailable } from '../lib/http/outcomes';
import { productIdParam } from '../lib/http/params';
import { Problem } from '../lib/http/problems';
import { json, route } from '../lib/http/route';
import * as routes from '../lib/http/routes/public';
import { productView } from '../lib/http/views';
import { getProduct } from '../lib/sale/catalog';

export const handler = route(routes.getProduct, async ({ event }) => {
  const id = productIdParam(event.pathParameters?.['id']);
  const snapshot = id === null ? null : await getProduct({ inventory: inventory() }, id);
  if (snapshot === 'unavailable')
    return unavailable('the product is being rebuilt after a data loss; retry shortly');
  if (!snapshot) throw new Problem('product-not-found', 'no product with this id');
  return json(200, productView(snapshot));
});
