// Pins down what contract fuzzing (Schemathesis, `npm run test:contract`) found, one test per
// finding, at the handler with the event serverless-offline actually produced.
import { describe, expect, it } from 'vitest';
import { mintToken } from '../../lib/http/auth';
import { adminToken, call, newProduct } from '../helpers/api';
import { httpEvent, lambdaContext } from '../helpers/lambda-event';

type Handler = (e: unknown, c: unknown) => Promise<{ statusCode: number; body: string }>;
const load = async (name: string) => (await import(`../../functions/${name}`)).handler as Handler;

it('a JSON body of false, null or a number handed over already parsed is a 4xx, never a 500', async () => {
  // serverless-offline parses `-d false` with Content-Type application/json and passes the value,
  // not the text, as event.body (API Gateway always passes a string).
  const createOrder = await load('createOrder');
  const webhook = await load('paymentWebhook');
  const token = await mintToken({ customer_id: 'contract-finding' });
  for (const body of [false, null, 0, true]) {
    const order = httpEvent('POST', '/api/orders', { headers: { authorization: `Bearer ${token}` } });
    const o = await createOrder({ ...order, body }, lambdaContext('createOrder'));
    expect({ body, status: o.statusCode }).toEqual({ body, status: 400 });
    const hook = httpEvent('POST', '/api/payments/webhook', { headers: { 'webhook-id': '0' } });
    const w = await webhook({ ...hook, body }, lambdaContext('paymentWebhook'));
    expect({ body, status: w.statusCode }).toEqual({ body, status: 401 });
  }
});

describe('admin product fields PostgreSQL cannot take back', () => {
  const patch = async (id: number, body: unknown) =>
    (await load('admin/updateProduct'))(
      httpEvent('PATCH', `/api/admin/products/${id}`, {
        headers: { authorization: `Bearer ${await adminToken()}` },
        body,
        pathParameters: { id: String(id) },
      }),
      lambdaContext('adminUpdateProduct'),
    );

  it('a year-0 sale time is 400, and the product stays updatable (it was stored, then every PATCH was 500)', async () => {
    const product = await newProduct({ stock_total: 5 });
    for (const t of ['0000-01-01T00:00:00+23:59', '9999-12-31T23:59:59-23:59', '1969-12-31T23:59:59Z']) {
      const r = await patch(product.id, { sale_starts_at: t });
      expect({ t, status: r.statusCode }).toEqual({ t, status: 400 });
    }
    expect((await patch(product.id, { per_customer_limit: 1 })).statusCode).toBe(200);
  });

  it('a name or sku with a NUL or another control character is 400, not a PostgreSQL error', async () => {
    const product = await newProduct({ stock_total: 5 });
    expect((await patch(product.id, { name: 'a\u0000b' })).statusCode).toBe(400);
    expect((await patch(product.id, { name: 'bell\u0007' })).statusCode).toBe(400);
    const create = await call('POST', '/api/admin/products', {
      token: await adminToken(),
      body: { sku: 'NUL\u0000', name: 'x', price_cents: 1, currency: 'EUR', stock_total: 1 },
    });
    expect(create.status).toBe(400);
    expect((await patch(product.id, { name: 'Émile’s drop 🎟' })).statusCode).toBe(200);
  });
});
