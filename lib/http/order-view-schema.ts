// The order view (API.md) in zod/mini: createOrder's route declaration carries it, and createOrder's
// bundle then carries no classic zod (README, "Cold starts"). view-schemas.ts re-exports it beside
// the other views; z.toJSONSchema describes it in /openapi.json like any other.
import * as z from 'zod/mini';
import { ORDER_STATUSES } from '../sale/types';
import '../zod-locale';

const time = z.iso.datetime();
const int = (min: number) => z.number().check(z.int(), z.minimum(min));

export const OrderView = z.object({
  order_id: z.uuid(),
  status: z.enum(ORDER_STATUSES),
  product_id: int(1),
  customer_id: z.string().check(z.minLength(1), z.maxLength(128)),
  qty: int(1),
  unit_price_cents: int(0),
  amount_cents: int(0),
  currency: z.string(),
  created_at: time,
  expires_at: time,
  paid_at: z.nullable(time),
  closed_at: z.nullable(time),
  cancel_pending: z
    .optional(z.boolean())
    .check(z.describe('true: accepted but not yet in PostgreSQL; the cancel applies once it is')),
});
export type OrderView = z.infer<typeof OrderView>;
