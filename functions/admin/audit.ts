// GET /api/admin/products/{id}/audit: the stock invariant for one product, in units.
import { inventory, orders, products } from '../../lib/container';
import { unavailable } from '../../lib/http/outcomes';
import { productIdParam } from '../../lib/http/params';
import { Problem } from '../../lib/http/problems';
import { json, route } from '../../lib/http/route';
import * as routes from '../../lib/http/routes/admin';
import { auditProduct } from '../../lib/sale/audit';

export const handler = route(routes.adminAudit, async ({ event }) => {
  const id = productIdParam(event.pathParameters?.['id']);
  const report = id === null ? null : await auditProduct({ inventory: inventory(), orders: orders() }, id);
  if (report) return json(200, report);
  // No sale state: a product PostgreSQL has lost it (no live `available` to audit until rebuilt).
  if (id !== null && (await products().get(id))) {
    return unavailable("the product's sale state was lost and is being rebuilt; audit it again shortly");
  }
  throw new Problem('product-not-found', 'no product with this id');
});
