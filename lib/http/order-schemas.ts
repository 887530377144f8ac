// POST /api/orders' request schemas, in zod/mini: createOrder's bundle then carries no classic zod
// (README, "Cold starts"). The same zod core validates them and z.toJSONSchema describes them in
// /openapi.json (schemas.ts re-exports them beside the other request schemas).
import * as z from 'zod/mini';
import '../zod-locale';

// No upper bounds but JSON's exact integers (z.int()): a product id nothing has is 404 and a qty
// above the product's max_per_order is 422, as API.md answers them, however large.
export const CreateOrderBody = z.strictObject({
  product_id: z.number().check(z.int(), z.minimum(1)),
  qty: z.number().check(z.int(), z.minimum(1)),
});
export type CreateOrderBody = z.infer<typeof CreateOrderBody>;

/** 1–255 printable ASCII characters (API.md). */
export const IdempotencyKey = z
  .string()
  .check(z.regex(/^[\x20-\x7e]{1,255}$/, '1-255 printable ASCII characters'));
