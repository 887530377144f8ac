// Pins down who may read an order over HTTP: its owner and an admin get 200 (before and after it
// reaches PostgreSQL); anyone else, unknown ids and ids that are not UUIDs get the same 404.
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { newOrderId } from '../../lib/sale/order-id';
import { adminToken, buyerToken, call, drained, newProduct, type Reply, reserve } from '../helpers/api';

function expectOrderNotFound(r: Reply) {
  expect(r.status).toBe(404);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body.type).toBe('https://flash-sale.dev/problems/order-not-found');
}

it('owner and admin read the order; another customer gets 404, never 403', async () => {
  const product = await newProduct({ stock_total: 10 });
  const owner = await buyerToken();
  const stranger = await buyerToken();
  const admin = await adminToken();
  const created = await reserve(owner, product.id, 2);
  expect(created.status).toBe(202);
  const path = `/api/orders/${created.body.order_id}`;

  // right after the 202 (the order may not be in PostgreSQL yet) and once it surely is
  for (const phase of ['accepted', 'persisted']) {
    if (phase === 'persisted') await drained(product.id);
    const mine = await call('GET', path, { token: owner });
    expect({ phase, status: mine.status }).toEqual({ phase, status: 200 });
    expect(mine.body).toEqual(created.body);

    const asAdmin = await call('GET', path, { token: admin });
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body).toEqual(created.body);

    expectOrderNotFound(await call('GET', path, { token: stranger }));
  }
  // the id is case-insensitive like any UUID
  expect(
    (await call('GET', path.toUpperCase().replace('/API/ORDERS/', '/api/orders/'), { token: owner })).status,
  ).toBe(200);
});

it('ids that are not UUIDs and UUIDs of no order are 404 order-not-found', async () => {
  const product = await newProduct({ stock_total: 10 });
  const owner = await buyerToken();
  const admin = await adminToken();

  for (const id of ['not-a-uuid', '123', `${randomUUID()}x`, 'ffffffff-ffff-ffff-ffff-fffffffffffff']) {
    expectOrderNotFound(await call('GET', `/api/orders/${id}`, { token: owner }));
  }
  // a random v4 UUID, and an id of this service's own format for a real product that was never ordered
  for (const id of [randomUUID(), newOrderId(product.id), newOrderId(0xffff_fff0)]) {
    expectOrderNotFound(await call('GET', `/api/orders/${id}`, { token: owner }));
    expectOrderNotFound(await call('GET', `/api/orders/${id}`, { token: admin }));
  }
});

it('reading an order needs a token', async () => {
  const product = await newProduct({ stock_total: 10 });
  const created = await reserve(await buyerToken(), product.id, 1);
  const r = await call('GET', `/api/orders/${created.body.order_id}`);
  expect(r.status).toBe(401);
  expect(r.body.type).toBe('https://flash-sale.dev/problems/unauthorized');
});
