// Admin routes (a Bearer token with role admin): products, the audit, the dashboard's figures.
import { z } from 'zod';
import { CreateProductBody, IdempotencyKey, StatsQuery, UpdateProductBody } from '../schemas';
import { ProductAuditView, ProductView, StatsView } from '../view-schemas';
import type { RouteDeclaration } from './declare';

export const adminCreateProduct = {
  method: 'post',
  path: '/api/admin/products',
  fn: 'adminCreateProduct',
  tag: 'Admin',
  summary: 'Create a product and its sale settings',
  auth: 'admin',
  body: CreateProductBody,
  ok: {
    201: {
      description: 'created',
      schema: ProductView,
      headers: [{ name: 'Location', schema: z.string(), description: '/api/products/{id}', required: true }],
    },
  },
  problems: ['sku-taken', 'unavailable'],
} satisfies RouteDeclaration;

export const adminUpdateProduct = {
  method: 'patch',
  path: '/api/admin/products/{id}',
  fn: 'adminUpdateProduct',
  tag: 'Admin',
  summary: 'Change the sale window, limits, `paused`, or stock (`stock_delta`, atomic)',
  description:
    'With an `Idempotency-Key`, a stock change is made once: a repeat of the same body applies ' +
    'nothing again and returns the product as it is now; another body under the key is refused.',
  auth: 'admin',
  params: ['product_id'],
  headers: [
    {
      name: 'Idempotency-Key',
      schema: IdempotencyKey,
      description:
        'scoped to the product, kept 24 hours; guards the stock change (`stock_delta`), and a refused one may be repeated',
    },
  ],
  body: UpdateProductBody,
  ok: {
    200: {
      description: 'updated (or the replay of a stock change)',
      schema: ProductView,
      headers: [
        {
          name: 'Idempotent-Replayed',
          schema: z.literal('true'),
          description: 'present on a replay of the same Idempotency-Key',
        },
      ],
    },
  },
  problems: ['product-not-found', 'idempotency-key-reused', 'stock-would-go-negative', 'unavailable'],
} satisfies RouteDeclaration;

export const adminAudit = {
  method: 'get',
  path: '/api/admin/products/{id}/audit',
  fn: 'adminAudit',
  tag: 'Admin',
  summary: 'Stock invariant report, in units',
  auth: 'admin',
  params: ['product_id'],
  ok: { 200: { description: 'the report', schema: ProductAuditView } },
  problems: ['product-not-found', 'unavailable'],
} satisfies RouteDeclaration;

export const adminStats = {
  method: 'get',
  path: '/api/admin/stats',
  fn: 'adminStats',
  tag: 'Operations',
  summary: 'Live per-product figures for the dashboard',
  description:
    'Per product: the audit report, orders per second (orders created in the last `window_s` ' +
    'seconds, persisted or still in flight), the Redis outbox; the orders queue and DLQ depth.',
  auth: 'admin',
  query: StatsQuery,
  ok: { 200: { description: 'the figures', schema: StatsView } },
  problems: ['unavailable'],
} satisfies RouteDeclaration;
