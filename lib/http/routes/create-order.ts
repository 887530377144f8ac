// POST /api/orders, declared on its own and in zod/mini only: createOrder imports this module, and
// its bundle then carries no classic zod (README, "Cold starts"). The other buyer routes are in
// buyer.ts, which re-exports this one.
import * as z from 'zod/mini';
import { CreateOrderBody, IdempotencyKey } from '../order-schemas';
import { OrderView } from '../order-view-schema';
import type { RouteDeclaration } from './declare';

export const createOrder = {
  method: 'post',
  path: '/api/orders',
  fn: 'createOrder',
  tag: 'Buyer',
  summary: 'Reserve units',
  description:
    'One atomic reservation; the order is persisted asynchronously. A replay of the same ' +
    '`Idempotency-Key` with the same body returns the original order view.',
  auth: 'buyer',
  headers: [
    {
      name: 'Idempotency-Key',
      schema: IdempotencyKey,
      description: 'scoped to the customer and the product, kept at least 24 hours',
    },
  ],
  body: CreateOrderBody,
  ok: {
    202: {
      description: 'reserved (or the replay of a reservation)',
      schema: OrderView,
      headers: [
        { name: 'Location', schema: z.string(), description: '/api/orders/{order_id}', required: true },
        {
          name: 'Idempotent-Replayed',
          schema: z.literal('true'),
          description: 'present on a replay of the same Idempotency-Key',
        },
      ],
    },
  },
  problems: [
    'qty-above-limit',
    'idempotency-key-reused',
    'product-not-found',
    'sale-not-started',
    'sale-paused',
    'sale-ended',
    'customer-limit-reached',
    'insufficient-stock',
    'unavailable',
  ],
} satisfies RouteDeclaration;
