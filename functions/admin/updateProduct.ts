// PATCH /api/admin/products/{id}: sale window, limits, the `paused` kill switch, atomic stock_delta.
import { inventory, products } from '../../lib/container';
import { idempotencyKeyOf } from '../../lib/http/idempotency-key';
import { unavailable } from '../../lib/http/outcomes';
import { Problem } from '../../lib/http/problems';
import { json, route } from '../../lib/http/route';
import * as routes from '../../lib/http/routes/admin';
import { productIdParam } from '../../lib/http/schemas';
import { productView } from '../../lib/http/views';
import { domainLog } from '../../lib/platform/logger';
import { updateProduct } from '../../lib/sale/catalog';

export const handler = route(routes.adminUpdateProduct, async ({ event, body }) => {
  const id = productIdParam(event.pathParameters?.['id']);
  if (id === null) throw new Problem('product-not-found', 'no product with this id');
  const idempotency_key = idempotencyKeyOf(event.headers['idempotency-key']);
  const r = await updateProduct(
    { inventory: inventory(), products: products(), log: domainLog },
    id,
    body,
    idempotency_key,
  );
  switch (r.kind) {
    case 'updated':
      return json(200, productView(r.snapshot), r.replayed ? { 'Idempotent-Replayed': 'true' } : {});
    case 'not_found':
      throw new Problem('product-not-found', 'no product with this id');
    case 'idempotency_key_reused':
      throw new Problem('idempotency-key-reused', 'this Idempotency-Key was used with another body');
    case 'stock_would_go_negative':
      throw new Problem(
        'stock-would-go-negative',
        `only ${r.available} unit(s) available to remove${r.settings_kept ? SETTINGS_KEPT : '; nothing was changed'}`,
        { available: r.available },
      );
    case 'unavailable':
      return unavailable(
        r.saved
          ? `the change is saved, but the sale state was lost meanwhile: it takes effect when the product is rebuilt (${idempotency_key === null ? 'read the product before repeating a stock_delta' : 'repeating it with the same Idempotency-Key never applies it twice'})`
          : `the product is being rebuilt after a data loss; ${r.settings_kept ? `the stock was not changed${SETTINGS_KEPT}` : 'nothing was changed'}, retry shortly`,
      );
    case 'invalid':
      throw new Problem('invalid-request', r.detail, { errors: [{ field: r.field, message: r.detail }] });
  }
});

/** A refused stock_delta whose other fields stand: another PATCH wrote the product right after. */
const SETTINGS_KEPT =
  '; the other fields of this request were applied (another change to the product followed it)';
