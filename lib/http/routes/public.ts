// Routes anyone may call: the catalogue (API.md, "Public").
import { ProductList, ProductView } from '../view-schemas';
import type { RouteDeclaration } from './declare';

export const getProduct = {
  method: 'get',
  path: '/api/products/{id}',
  fn: 'getProduct',
  tag: 'Public',
  summary: 'One product, with live availability',
  auth: 'public',
  params: ['product_id'],
  ok: { 200: { description: 'the product', schema: ProductView } },
  problems: ['product-not-found', 'unavailable'],
} satisfies RouteDeclaration;

export const listProducts = {
  method: 'get',
  path: '/api/products',
  fn: 'listProducts',
  tag: 'Public',
  summary: 'Every product, with live availability',
  auth: 'public',
  ok: { 200: { description: 'all products', schema: ProductList } },
  problems: ['unavailable'],
} satisfies RouteDeclaration;
