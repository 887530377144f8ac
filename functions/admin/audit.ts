// GET /api/admin/products/{id}/audit: the stock invariant for one product, in units.
import { inventory, orders } from '../../lib/container';
import { productIdParam } from '../../lib/http/params';
import { Problem } from '../../lib/http/problems';
import { json, route } from '../../lib/http/route';
import * as routes from '../../lib/http/routes/admin';
import { auditProduct } from '../../lib/sale/audit';

export const handler = route(routes.adminAudit, async ({ event }) => {
  const id = productIdParam(event.pathParameters?.['id']);
  const report = id === null ? null : await auditProduct({ inventory: inventory(), orders: orders() }, id);
  if (!report) throw new Problem('product-not-found', 'no product with this id');
  return json(200, report);
});
