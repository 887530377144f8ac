// Pins down throttling: with RATE_LIMIT_CUSTOMER_RPS / RATE_LIMIT_IP_RPS set, a burst beyond the
// budget gets 429 rate-limited with Retry-After, consumes no stock, and other customers are unaffected.
import { beforeAll, expect, it } from 'vitest';
import { resetConfig } from '../../lib/config';
import { mintToken } from '../../lib/http/auth';
import { audit, newProduct } from '../helpers/api';
import { httpEvent, lambdaContext } from '../helpers/lambda-event';

let handler: (e: unknown, c: unknown) => Promise<any>;

beforeAll(async () => {
  // This file runs in its own worker: set the limits before the handler reads its configuration.
  process.env['RATE_LIMIT_CUSTOMER_RPS'] = '3';
  process.env['RATE_LIMIT_IP_RPS'] = '8';
  resetConfig();
  handler = (await import('../../functions/createOrder')).handler as never;
});

const order = async (token: string, product_id: number, ip: string) =>
  handler(
    httpEvent('POST', '/api/orders', {
      headers: { authorization: `Bearer ${token}` },
      body: { product_id, qty: 1 },
      sourceIp: ip,
    }),
    lambdaContext('createOrder'),
  );

it('a customer over their per-second budget gets 429 with Retry-After and takes no stock', async () => {
  const product = await newProduct({ stock_total: 100 });
  const token = await mintToken({ customer_id: `rl-${product.id}` });
  const replies = await Promise.all(Array.from({ length: 10 }, () => order(token, product.id, '10.0.0.1')));
  const ok = replies.filter((r) => r.statusCode === 202);
  const limited = replies.filter((r) => r.statusCode === 429);
  expect(ok).toHaveLength(3);
  expect(limited).toHaveLength(7);
  expect(limited[0].headers['Retry-After']).toMatch(/^\d+$/);
  expect(JSON.parse(limited[0].body).type).toMatch(/rate-limited$/);
  expect((await audit(product.id)).available).toBe(97);
  // Another customer from another address still gets through.
  const other = await order(await mintToken({ customer_id: `rl2-${product.id}` }), product.id, '10.0.0.2');
  expect(other.statusCode).toBe(202);
});

it('one address is limited across customers when RATE_LIMIT_IP_RPS is set', async () => {
  const product = await newProduct({ stock_total: 100 });
  const tokens = await Promise.all(
    Array.from({ length: 12 }, (_, i) => mintToken({ customer_id: `ip-${product.id}-${i}` })),
  );
  const replies = await Promise.all(tokens.map((t) => order(t, product.id, '10.9.9.9')));
  expect(replies.filter((r) => r.statusCode === 202)).toHaveLength(8);
  expect(replies.filter((r) => r.statusCode === 429)).toHaveLength(4);
});

it('an admin token on a buyer route is limited like any other caller (it places orders like one)', async () => {
  const product = await newProduct({ stock_total: 100 });
  const token = await mintToken({ customer_id: `rl-admin-${product.id}`, admin: true });
  const replies = await Promise.all(Array.from({ length: 10 }, () => order(token, product.id, '10.0.0.3')));
  expect(replies.filter((r) => r.statusCode === 202)).toHaveLength(3);
  expect(replies.filter((r) => r.statusCode === 429)).toHaveLength(7);
  expect((await audit(product.id)).available).toBe(97);
});
