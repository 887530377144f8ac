// Pins down GET /openapi.json: an OpenAPI 3.1 document listing exactly the routes of serverless.yml,
// each with the auth the API enforces and the problem codes of the catalogue, whose request schemas
// accept and reject the same bodies as the API and whose views describe real responses.
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { load } from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CATALOGUE, PROBLEM_BASE } from '../../lib/http/problems';
import {
  HealthView,
  OrderList,
  OrderView,
  PaymentResultView,
  ProblemView,
  ProductAuditView,
  ProductList,
  ProductView,
  ReadyView,
  StatsView,
} from '../../lib/http/view-schemas';
import { adminToken, buyerToken, call, newProduct, reserve } from '../helpers/api';
import { sendWebhook } from '../helpers/webhook';

let doc: any;
let ajv: Ajv2020;

beforeAll(async () => {
  const r = await call('GET', '/openapi.json');
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  doc = r.body;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(doc, 'openapi');
});

/** Validates `data` against a schema of the published document (by JSON pointer). */
function validAgainst(pointer: string, data: unknown): { ok: boolean; errors: string } {
  const validate = ajv.getSchema(`openapi#${pointer}`);
  if (!validate) throw new Error(`no schema at ${pointer}`);
  const ok = validate(data) as boolean;
  return { ok, errors: ajv.errorsText(validate.errors) };
}

const component = (name: string) => `/components/schemas/${name}`;

/** The published schema accepts `body`, and so does the (closed) view schema: no undocumented field. */
function expectView(name: string, view: z.core.$ZodType, body: unknown) {
  const published = validAgainst(component(name), body);
  expect(published.ok, `${name}: ${published.errors}`).toBe(true);
  const closed = ajv.compile(z.toJSONSchema(view, { io: 'output' }));
  expect(closed(body), `${name}: ${ajv.errorsText(closed.errors)}`).toBe(true);
}

function serverlessRoutes(): { method: string; path: string; fn: string }[] {
  const yml = load(readFileSync('serverless.yml', 'utf8')) as {
    functions: Record<string, { events?: { httpApi?: string | { method: string; path: string } }[] }>;
  };
  return Object.entries(yml.functions).flatMap(([fn, f]) =>
    (f.events ?? []).flatMap((e) =>
      e.httpApi && typeof e.httpApi === 'object'
        ? [{ method: e.httpApi.method.toLowerCase(), path: e.httpApi.path, fn }]
        : [],
    ),
  );
}

function operations(): { method: string; path: string; op: any }[] {
  return Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
    Object.entries(item).map(([method, op]) => ({ method, path, op })),
  );
}

describe('the document', () => {
  it('is valid OpenAPI 3.1 (the official schema), with bearer JWT security', async () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.components.securitySchemes.bearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    for (const { op } of operations()) {
      expect(op.operationId).toEqual(expect.any(String));
      expect(Object.keys(op.responses).length).toBeGreaterThan(0);
    }
  });

  it('lists exactly the httpApi routes of serverless.yml, named by their function', () => {
    const routes = serverlessRoutes();
    expect(routes.length).toBeGreaterThan(10);
    const documented = operations().map(({ method, path, op }) => ({
      method,
      path,
      fn: op.operationId.replace(/Asset$/, ''),
    }));
    const key = (r: { method: string; path: string; fn: string }) => `${r.method} ${r.path} ${r.fn}`;
    expect(documented.map(key).sort()).toEqual(routes.map(key).sort());
  });

  it('says which routes need a token and which need the admin role, as the API enforces', async () => {
    const buyer = await buyerToken();
    const concrete = (path: string) =>
      path.replace('{id}', '1').replace('{order_id}', crypto.randomUUID()).replace('{asset}', 'init.js');
    for (const { method, path, op } of operations()) {
      const url = concrete(path);
      const anonymous = await call(method.toUpperCase(), url);
      if (op.security.length === 0) {
        expect(anonymous.body?.type, `${method} ${path} is public`).not.toBe(`${PROBLEM_BASE}unauthorized`);
        continue;
      }
      expect(op.security).toEqual([{ bearer: expect.any(Array) }]);
      expect(anonymous.status, `${method} ${path} without a token`).toBe(401);
      expect(op.responses['401']['x-problem-codes']).toContain('unauthorized');
      const admin = op.security[0].bearer.includes('admin');
      const asBuyer = await call(method.toUpperCase(), url, { token: buyer });
      if (admin) {
        expect(asBuyer.status, `${method} ${path} with a buyer token`).toBe(403);
        expect(op.responses['403']['x-problem-codes']).toContain('forbidden');
      } else {
        expect(asBuyer.status, `${method} ${path} with a buyer token`).not.toBe(403);
      }
    }
  });

  it('carries the problem catalogue: every code, its type URI, under the right status', () => {
    for (const [code, c] of Object.entries(CATALOGUE)) {
      expect(doc['x-problem-codes'][code]).toEqual({ ...c, type: PROBLEM_BASE + code });
    }
    const used = new Set<string>();
    for (const { method, path, op } of operations()) {
      for (const [status, res] of Object.entries(op.responses) as [string, any][]) {
        const codes: string[] | undefined = res['x-problem-codes'];
        if (!codes) continue;
        const media = res.content['application/problem+json'];
        expect(media, `${method} ${path} ${status}`).toBeDefined();
        expect(media.schema.allOf[0]).toEqual({ $ref: '#/components/schemas/Problem' });
        expect(media.schema.allOf[1].properties.type.enum).toEqual(codes.map((c) => PROBLEM_BASE + c));
        for (const code of codes) {
          expect(CATALOGUE[code as keyof typeof CATALOGUE].status, `${code} under ${status}`).toBe(
            Number(status),
          );
          used.add(code);
        }
      }
    }
    // Every code the API can answer appears on some route.
    expect([...used].sort()).toEqual(Object.keys(CATALOGUE).sort());
  });
});

describe('POST /api/orders request schema', () => {
  it('requires product_id and qty as integers ≥ 1 and allows nothing else', () => {
    const op = doc.paths['/api/orders'].post;
    expect(op.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/CreateOrderBody',
    });
    const s = doc.components.schemas.CreateOrderBody;
    expect(s.type).toBe('object');
    expect([...s.required].sort()).toEqual(['product_id', 'qty']);
    expect(s.additionalProperties).toBe(false);
    for (const f of ['product_id', 'qty']) {
      expect(s.properties[f]).toMatchObject({ type: 'integer', minimum: 1 });
    }
    expect(op.parameters).toContainEqual(
      expect.objectContaining({ in: 'header', name: 'Idempotency-Key', required: false }),
    );
  });

  it('rejects exactly the bodies the API answers 400 to', async () => {
    const product = await newProduct({ stock_total: 100, max_per_order: 10 });
    const token = await buyerToken();
    const P = product.id;
    const bodies: unknown[] = [
      { product_id: P, qty: 1 },
      { product_id: P, qty: 2 },
      { product_id: P, qty: 11 }, // valid shape; above max_per_order is a 422, not a 400
      { qty: 1, product_id: P + 1_000_000 }, // valid shape, unknown product: 404
      {},
      { product_id: P },
      { qty: 1 },
      { product_id: P, qty: 0 },
      { product_id: P, qty: -1 },
      { product_id: P, qty: 1.5 },
      { product_id: P, qty: '1' },
      { product_id: P, qty: null },
      { product_id: `${P}`, qty: 1 },
      { product_id: 0, qty: 1 },
      { product_id: 2 ** 32, qty: 1 },
      { product_id: P, qty: 1, note: 'gift' },
      [P, 1],
      'P',
      null,
    ];
    for (const body of bodies) {
      const schema = validAgainst(component('CreateOrderBody'), body);
      const r = await call('POST', '/api/orders', { token, body });
      expect(r.status === 400, `${JSON.stringify(body)} → ${r.status}; schema says ${schema.ok}`).toBe(
        !schema.ok,
      );
    }
  });

  it('the admin product schema agrees with the API too', async () => {
    const token = await adminToken();
    const valid = () => ({
      sku: `OA-${crypto.randomUUID()}`,
      name: 'openapi check',
      price_cents: 100,
      currency: 'EUR',
      stock_total: 5,
    });
    const bodies: unknown[] = [
      valid(),
      { ...valid(), sale_starts_at: '2020-01-01T00:00:00Z', per_customer_limit: null },
      { ...valid(), currency: 'eur' },
      { ...valid(), currency: 'XYZ' }, // three capitals, but no ISO 4217 currency
      { ...valid(), currency: 'JPY' },
      { ...valid(), stock_total: -1 },
      { ...valid(), max_per_order: 1001 },
      { ...valid(), sale_starts_at: 'yesterday' },
      { ...valid(), colour: 'red' },
      { name: 'no sku', price_cents: 1, currency: 'EUR', stock_total: 1 },
    ];
    for (const body of bodies) {
      const schema = validAgainst(component('CreateProductBody'), body);
      const r = await call('POST', '/api/admin/products', { token, body });
      expect(r.status === 400, `${JSON.stringify(body)} → ${r.status}; schema says ${schema.ok}`).toBe(
        !schema.ok,
      );
    }
    const made_up = await call('POST', '/api/admin/products', {
      token,
      body: { ...valid(), currency: 'XYZ' },
    });
    expect(made_up.status, 'API.md: an ISO 4217 currency').toBe(400);
    expect(made_up.body.errors[0].field).toBe('currency');
    expect(doc.components.schemas.UpdateProductBody.minProperties).toBe(1);
  });

  it('the admin PATCH declares its optional Idempotency-Key, the replay header and the reused-key problem', () => {
    const op = doc.paths['/api/admin/products/{id}'].patch;
    expect(op.parameters).toContainEqual(
      expect.objectContaining({ in: 'header', name: 'Idempotency-Key', required: false }),
    );
    expect(op.responses['200'].headers).toHaveProperty('Idempotent-Replayed');
    expect(op.responses['422'].content['application/problem+json'].examples).toHaveProperty(
      'idempotency-key-reused',
    );
  });
});

describe('response views', () => {
  it('describe what the API answers, field for field', async () => {
    const admin = await adminToken();
    const buyer = await buyerToken();
    const product = await newProduct({ stock_total: 10 });
    expectView('ProductView', ProductView, product);
    expectView('ProductView', ProductView, (await call('GET', `/api/products/${product.id}`)).body);
    expectView('ProductList', ProductList, (await call('GET', '/api/products')).body);

    const order = await reserve(buyer, product.id, 2);
    expect(order.status).toBe(202);
    expectView('OrderView', OrderView, order.body);
    expectView('OrderList', OrderList, (await call('GET', '/api/orders', { token: buyer })).body);
    const paid = await sendWebhook(order.body.order_id, { amount_cents: order.body.amount_cents });
    expect([200, 202]).toContain(paid.status);
    expectView('PaymentResultView', PaymentResultView, paid.body);

    const audit = await call('GET', `/api/admin/products/${product.id}/audit`, { token: admin });
    expectView('ProductAuditView', ProductAuditView, audit.body);
    const stats = await call('GET', `/api/admin/stats?product_id=${product.id}`, { token: admin });
    expectView('StatsView', StatsView, stats.body);
    expectView('HealthView', HealthView, (await call('GET', '/healthz')).body);
    expectView('ReadyView', ReadyView, (await call('GET', '/readyz')).body);

    for (const problem of [
      await call('GET', '/api/products/999999999'),
      await call('POST', '/api/orders', { token: buyer, body: { qty: 0 } }),
      await reserve(buyer, product.id, 99),
      await call('GET', '/no/such/route'),
    ]) {
      expect(problem.headers.get('content-type')).toBe('application/problem+json');
      expectView('Problem', ProblemView, problem.body);
    }
  });
});
