// Every HTTP route of the API, each declared once (./declare.ts), in the order of API.md.
import { adminAudit, adminCreateProduct, adminStats, adminUpdateProduct } from './admin';
import { cancelOrder, createOrder, getOrder, listOrders } from './buyer';
import { dashboard, docs, docsAsset, healthz, openapi, readyz } from './operations';
import { paymentWebhook } from './payment';
import { getProduct, listProducts } from './public';

export const ROUTES = {
  getProduct,
  listProducts,
  createOrder,
  listOrders,
  getOrder,
  cancelOrder,
  paymentWebhook,
  adminCreateProduct,
  adminUpdateProduct,
  adminAudit,
  adminStats,
  healthz,
  readyz,
  openapi,
  docs,
  docsAsset,
  dashboard,
};

export type RouteName = keyof typeof ROUTES;

export const ROUTE_LIST = Object.values(ROUTES);
