// The JSON views of API.md as zod schemas: what the OpenAPI document says each route answers.
// views.ts returns these types, so a view that drifts from its schema fails the type check, and the
// e2e tests validate real responses against the published document.
import { z } from 'zod';
import { ORDER_STATUSES } from '../sale/types';
import { OrderView } from './order-view-schema';

/** RFC 3339 UTC, as Date.toISOString() writes it. */
const time = z.iso.datetime();
const units = z.number().int();
const SALE_STATES = ['upcoming', 'live', 'paused', 'ended'] as const;

const SaleView = z.object({
  starts_at: time.nullable().describe('null: live from creation'),
  ends_at: time.nullable().describe('null: open-ended'),
  paused: z.boolean(),
  state: z.enum(SALE_STATES),
});

export const ProductView = z.object({
  id: z.number().int().min(1),
  sku: z.string(),
  name: z.string(),
  price_cents: z.number().int().min(0),
  currency: z.string().describe('ISO 4217'),
  stock_total: units,
  available: units.describe('live, read from the inventory authority on every request'),
  max_per_order: units,
  per_customer_limit: units.nullable().describe('units per customer; null = none'),
  reservation_ttl_s: units,
  sale: SaleView,
});
export type ProductView = z.infer<typeof ProductView>;

export const ProductList = z.object({
  items: z.array(ProductView),
  unavailable_product_ids: z
    .array(z.number().int().min(1))
    .describe('products whose sale state was lost and is being rebuilt: not in `items`; ask again shortly'),
});

// OrderView is in zod/mini (order-view-schema.ts): createOrder's declaration carries it, and
// createOrder's bundle carries no classic zod.
export { OrderView } from './order-view-schema';

export const OrderList = z.object({
  items: z.array(OrderView),
  next_cursor: z.string().nullable().describe('pass as ?cursor= for the next page; null on the last'),
});

export const AuditReportView = z.object({
  product_id: z.number().int().min(1),
  stock_total: units,
  available: units.describe('Redis'),
  reserved: units.describe('units in reserved orders, persisted or not'),
  paid: units,
  in_flight: units.describe('units accepted but not yet in PostgreSQL'),
  drift: units.describe('stock_total − available − reserved − paid'),
  ok: z.boolean().describe('drift is 0 and nothing is negative'),
});

const counterDrift = z
  .number()
  .int()
  .nullable()
  .describe('0 when exact; null: the product has no such counter yet (until its next rebuild)');

export const ProductAuditView = AuditReportView.extend({
  ok: z.boolean().describe('drift is 0, nothing is negative, and the outbox counters match the records'),
  counter_drift: z
    .object({
      in_flight: z.number().int().describe('in_flight counter minus the units of the outbox entries'),
      acked_units: counterDrift,
      acked_orders: counterDrift,
    })
    .describe('how far the Redis counters the dashboard reads (instead of the outbox) are from the records'),
});

export const PaymentResultView = z.object({
  result: z.enum(['applied', 'duplicate', 'pending', 'ignored']),
  status: z.enum(ORDER_STATUSES).optional().describe("the order's status after this event"),
  reason: z.string().optional().describe('why an event was ignored'),
});

export const HealthView = z.object({ status: z.literal('ok') });

const Check = z.object({ ok: z.boolean(), latency_ms: z.number() });
export const ReadyView = z.object({
  status: z.enum(['ready', 'unavailable']),
  down: z.array(z.enum(['redis', 'postgres', 'queue'])).describe('by role; never a host, address or ARN'),
  checks: z.object({ redis: Check, postgres: Check, queue: Check }),
  checked_at: time.describe('when the dependencies were last checked (cached a few seconds)'),
});

const rate = z.number().min(0).describe('orders per second over the window (persisted + in flight)');

const ProductStatsView = AuditReportView.extend({
  sku: z.string(),
  name: z.string(),
  state: z.enum(SALE_STATES),
  outbox: units.describe('orders accepted by Redis and not yet acknowledged by PostgreSQL'),
  outbox_oldest_age_s: z.number().int().min(0).describe('seconds the oldest of them has waited; 0 when none'),
  orders_per_s: rate,
});

export const StatsView = z.object({
  at: time,
  window_s: z.number().int().min(1),
  products_total: units.describe('products known to the inventory'),
  products: z.array(ProductStatsView).describe('one product, or the most recently created ones'),
  products_missing: z
    .array(z.number().int().min(1))
    .describe(
      'products PostgreSQL has whose sale state Redis does not hold (lost and not rebuilt yet, or never loaded): not sellable',
    ),
  totals: z.object({
    stock_total: units,
    available: units,
    reserved: units,
    paid: units,
    in_flight: units,
    orders_per_s: rate,
    drift: units,
  }),
  backlog: z.object({
    outbox: units.describe('orders in the Redis outboxes of the listed products'),
    queue: units.nullable().describe('messages in the orders queue (visible + in flight); null: unreadable'),
    dlq: units.nullable().describe('messages in the dead-letter queue; null: unreadable or not configured'),
  }),
  ok: z.boolean().describe('every listed product has drift 0 and nothing negative, and none is missing'),
});
export type StatsView = z.infer<typeof StatsView>;

/** RFC 9457 problem details; `type` ends in the code of lib/http/problems.ts. */
export const ProblemView = z
  .object({
    type: z.url(),
    title: z.string(),
    status: z.number().int().min(400).max(599).describe('the HTTP status'),
    order_status: z
      .enum(ORDER_STATUSES)
      .optional()
      .describe("`order-not-cancellable`: the order's current status"),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .describe('invalid-request: every offending field'),
  })
  .catchall(z.unknown());
