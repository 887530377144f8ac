// Routes for buyers (a Bearer token): reserve, read and cancel their orders (API.md, "Buyer").
import { z } from 'zod';
import { CreateOrderBody, IdempotencyKey, ListOrdersQuery } from '../schemas';
import { OrderList, OrderView } from '../view-schemas';
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

export const listOrders = {
  method: 'get',
  path: '/api/orders',
  fn: 'listOrders',
  tag: 'Buyer',
  summary: "The caller's own orders, newest first",
  auth: 'buyer',
  query: ListOrdersQuery,
  ok: { 200: { description: 'one page', schema: OrderList } },
} satisfies RouteDeclaration;

export const getOrder = {
  method: 'get',
  path: '/api/orders/{order_id}',
  fn: 'getOrder',
  tag: 'Buyer',
  summary: 'One order (its owner or an admin), also before it reaches PostgreSQL',
  auth: 'buyer',
  params: ['order_id'],
  ok: { 200: { description: 'the order', schema: OrderView } },
  problems: ['order-not-found'],
} satisfies RouteDeclaration;

export const cancelOrder = {
  method: 'post',
  path: '/api/orders/{order_id}/cancel',
  fn: 'cancelOrder',
  tag: 'Buyer',
  summary: 'Cancel a reserved order (its owner)',
  auth: 'buyer',
  params: ['order_id'],
  ok: {
    200: { description: 'cancelled; units released exactly once', schema: OrderView },
    202: {
      description: 'accepted but not yet in PostgreSQL: `cancel_pending: true`, applied once it is',
      schema: OrderView,
    },
  },
  problems: ['order-not-found', 'order-not-cancellable'],
} satisfies RouteDeclaration;
