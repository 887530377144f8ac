// POST /api/admin/products: create a product (PostgreSQL) and load its sale state (Redis).
import { inventory, products } from '../../lib/container';
import { Problem } from '../../lib/http/problems';
import { json, route } from '../../lib/http/route';
import * as routes from '../../lib/http/routes/admin';
import { productView } from '../../lib/http/views';
import { SkuTakenError } from '../../lib/orders/products';
import { createProduct } from '../../lib/sale/catalog';

export const handler = route(routes.adminCreateProduct, async ({ body }) => {
  try {
    const snapshot = await createProduct(
      { inventory: inventory(), products: products() },
      {
        ...body,
        sale_starts_at: body.sale_starts_at ?? null,
        sale_ends_at: body.sale_ends_at ?? null,
      },
    );
    return json(201, productView(snapshot), { Location: `/api/products/${snapshot.product.id}` });
  } catch (err) {
    if (err instanceof SkuTakenError) throw new Problem('sku-taken', err.message);
    throw err;
  }
});
