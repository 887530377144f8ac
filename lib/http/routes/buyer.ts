import { ListOrdersQuery } from '../schemas';
import { OrderList, OrderView } from '../view-schemas';
import type { RouteDeclaration } from './declare';

export { createOrder } from './create-order';

export const listOrders = {
  method: 'get',
  path: '/api/orders',
  fn: 'listOrders',
  tag: 'Buyer',
  summary: "The caller's own orders, newest first",
  auth: 'buyer',
  query: ListOrdersQuery,
  ok: { 200: { description: 'one page', schema: OrderList } },
  problems: ['unavailable'],
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
  // unavailable: found nowhere while its product is being rebuilt (it may still be on its way)
  problems: ['order-not-found', 'unavailable'],
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
  problems: ['order-not-found', 'order-not-cancellable', 'unavailable'],
} satisfies RouteDeclaration;
