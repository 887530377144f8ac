// Request schemas: the single source for validation (and for the OpenAPI document).
import { z } from 'zod';
import { PRICE_CENTS_MAX, STOCK_TOTAL_MAX } from '../sale/types';

// POST /api/orders' schemas are zod/mini, in a module of their own (createOrder's bundle).
export { CreateOrderBody, IdempotencyKey } from './order-schemas';

// Years 1970-9999: PostgreSQL stores a year 0 or BC date that postgres.js then reads back as an
// Invalid Date, after which every update of the product failed (found by Schemathesis).
const TIME_MIN_MS = 0;
const TIME_MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59);
const isoTime = z.iso
  .datetime({ offset: true })
  .transform((s) => new Date(s))
  .refine((d) => d.getTime() >= TIME_MIN_MS && d.getTime() <= TIME_MAX_MS, 'between 1970 and 9999');

/**
 * Free text stored in PostgreSQL: no control characters (a NUL byte is refused by its text type),
 * and well-formed Unicode: a lone surrogate (`"\ud800"` is valid JSON) has no UTF-8 form, so
 * PostgreSQL would store U+FFFD instead of what was sent.
 */
export const text = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'no control characters')
    .refine((s) => !LONE_SURROGATE.test(s), 'well-formed Unicode (no lone surrogate)');

const LONE_SURROGATE = /\p{Cs}/u;

/** ISO 4217 codes in circulation, as the runtime's ICU knows them (a code matching [A-Z]{3} is not one). */
const CURRENCIES = Intl.supportedValuesOf('currency') as [string, ...string[]];

export const CreateProductBody = z
  .strictObject({
    sku: text(1, 64),
    name: text(1, 200),
    price_cents: z.number().int().min(0).max(PRICE_CENTS_MAX),
    currency: z.enum(CURRENCIES, 'an ISO 4217 code in circulation, e.g. EUR'),
    stock_total: z.number().int().min(0).max(STOCK_TOTAL_MAX),
    sale_starts_at: isoTime.nullable().optional(),
    sale_ends_at: isoTime.nullable().optional(),
    max_per_order: z.number().int().min(1).max(1000).default(10),
    per_customer_limit: z.number().int().min(1).max(1_000_000).nullable().default(null),
    reservation_ttl_s: z.number().int().min(1).max(86_400).default(600),
    paused: z.boolean().default(false),
  })
  .refine((b) => !b.sale_starts_at || !b.sale_ends_at || b.sale_ends_at > b.sale_starts_at, {
    path: ['sale_ends_at'],
    message: 'must be after sale_starts_at',
  });
export type CreateProductBody = z.infer<typeof CreateProductBody>;

/** A `?limit=` page size: one message for every way it can be wrong (not a number, 0, 1.5, too big). */
function pageSize(max: number, default_size: number) {
  const error = `an integer from 1 to ${max}`;
  return z.coerce
    .number({ error })
    .int({ error })
    .min(1, { error })
    .max(max, { error })
    .default(default_size);
}

/** GET /api/orders query: page size and the cursor a previous page returned. */
export const ListOrdersQuery = z.strictObject({
  limit: pageSize(100, 20),
  cursor: z.string().max(200).optional(),
});
export type ListOrdersQuery = z.infer<typeof ListOrdersQuery>;

/** GET /api/admin/stats query: one product, or the `limit` most recently created ones. */
export const StatsQuery = z.strictObject({
  product_id: z.coerce.number().int().min(1).max(0xffff_ffff).optional(),
  limit: pageSize(200, 50),
});
export type StatsQuery = z.infer<typeof StatsQuery>;

export { productIdParam } from './params';

export const UpdateProductBody = z
  .strictObject({
    name: text(1, 200),
    sale_starts_at: isoTime.nullable(),
    sale_ends_at: isoTime.nullable(),
    max_per_order: z.number().int().min(1).max(1000),
    per_customer_limit: z.number().int().min(1).max(1_000_000).nullable(),
    reservation_ttl_s: z.number().int().min(1).max(86_400),
    paused: z.boolean(),
    stock_delta: z.number().int().min(-STOCK_TOTAL_MAX).max(STOCK_TOTAL_MAX),
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to change' });
export type UpdateProductBody = z.infer<typeof UpdateProductBody>;

/** POST /api/payments/webhook, parsed after the signature is verified (lib/http/webhook.ts). */
export const PaymentWebhookBody = z.object({
  type: z.enum(['payment.succeeded', 'payment.failed']),
  data: z.object({
    order_id: z.uuid(),
    amount_cents: z.number().int().min(0),
    currency: z.string().regex(/^[A-Za-z]{3}$/, 'ISO 4217 code'),
    payment_id: text(1, 255),
  }),
});
