// Operations: liveness, readiness, this API's document and its UI, the dashboard page.
import { HealthView, ReadyView } from '../view-schemas';
import { html, RETRY_AFTER, type RouteDeclaration } from './declare';

export const healthz = {
  method: 'get',
  path: '/healthz',
  fn: 'healthz',
  tag: 'Operations',
  summary: 'Liveness',
  auth: 'public',
  ok: { 200: { description: 'the function answers', schema: HealthView } },
} satisfies RouteDeclaration;

export const readyz = {
  method: 'get',
  path: '/readyz',
  fn: 'readyz',
  tag: 'Operations',
  summary: 'Readiness: Redis, PostgreSQL and the orders queue answer',
  auth: 'public',
  ok: {
    200: { description: 'ready', schema: ReadyView },
    503: {
      description: 'a dependency is down (named in `down`)',
      schema: ReadyView,
      headers: [RETRY_AFTER],
    },
  },
} satisfies RouteDeclaration;

export const openapi = {
  method: 'get',
  path: '/openapi.json',
  fn: 'openapi',
  tag: 'Operations',
  summary: 'This document',
  auth: 'public',
  ok: { 200: { description: 'OpenAPI 3.1', media: ['application/json'] } },
} satisfies RouteDeclaration;

export const docs = {
  method: 'get',
  path: '/docs',
  fn: 'docs',
  tag: 'Operations',
  summary: 'Browsable UI for this document (Swagger UI)',
  auth: 'public',
  ok: { 200: html('the UI page') },
} satisfies RouteDeclaration;

export const docsAsset = {
  method: 'get',
  path: '/docs/{asset}',
  fn: 'docs',
  tag: 'Operations',
  summary: 'A file of the docs UI, served by the function itself',
  auth: 'public',
  params: ['asset'],
  ok: { 200: { description: 'the file', media: ['text/javascript', 'text/css'] } },
  problems: ['not-found'],
} satisfies RouteDeclaration;

export const dashboard = {
  method: 'get',
  path: '/',
  fn: 'dashboard',
  tag: 'Operations',
  summary: 'Live dashboard page (asks for an admin token, polls /api/admin/stats)',
  auth: 'public',
  ok: { 200: html('the dashboard page') },
} satisfies RouteDeclaration;
