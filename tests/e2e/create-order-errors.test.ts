// Pins down every outcome in API.md's table for POST /api/orders over real HTTP: each error's status,
// problem+json body and extra fields, 401 before body validation, idempotent replays, and that a
// refused request takes no stock.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { BODY_BYTES_MAX } from '../../lib/http/body';
import { audit, buyerToken, call, newProduct, type Reply, reserve } from '../helpers/api';

const HOUR_MS = 3600_000;
const iso = (ms_from_now: number) => new Date(Date.now() + ms_from_now).toISOString();

/**
 * A problem+json reply whose `type` ends in `code`, with the RFC 9457 members API.md requires, and
 * `instance` the request's path whichever layer refused it (route, validation or the reservation).
 */
function expectProblem(r: Reply, status: number, code: string) {
  expect({ status: r.status, body: r.body }).toMatchObject({ status, body: { status } });
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body.type).toMatch(new RegExp(`^https?://.+/${code}$`));
  expect(r.body.title).toEqual(expect.any(String));
  expect(r.body.detail).toEqual(expect.any(String));
  expect(r.body.instance).toBe('/api/orders');
}

/** The 400's `errors` list names this field, and the detail mentions it ("(body)": the whole body). */
function expectNamesField(r: Reply, field: string) {
  expectProblem(r, 400, 'invalid-request');
  expect(r.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  expect(r.body.detail).toContain(field === '(body)' ? 'body' : field);
}

const post = (opts: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> }) =>
  call('POST', '/api/orders', opts);

describe('400 invalid-request names the offending field', () => {
  it('missing field, qty < 1, non-integer qty, wrong type, unknown field', async () => {
    const product = await newProduct({ stock_total: 10 });
    const token = await buyerToken();

    expectNamesField(await post({ token, body: { product_id: product.id } }), 'qty');
    expectNamesField(await post({ token, body: { qty: 1 } }), 'product_id');
    expectNamesField(await post({ token, body: { product_id: product.id, qty: 0 } }), 'qty');
    expectNamesField(await post({ token, body: { product_id: product.id, qty: -2 } }), 'qty');
    expectNamesField(await post({ token, body: { product_id: product.id, qty: 1.5 } }), 'qty');
    expectNamesField(await post({ token, body: { product_id: product.id, qty: '1' } }), 'qty');
    expectNamesField(await post({ token, body: { product_id: 0, qty: 1 } }), 'product_id');
    expectNamesField(await post({ token, body: { product_id: product.id, qty: 1, color: 'red' } }), 'color');

    expect(await audit(product.id)).toMatchObject({ available: 10, in_flight: 0, reserved: 0 });
  });

  it('malformed JSON, a JSON value that is not an object, an empty body', async () => {
    const product = await newProduct({ stock_total: 10 });
    const token = await buyerToken();

    const malformed = await post({ token, rawBody: `{"product_id": ${product.id}, "qty": ` });
    expectNamesField(malformed, '(body)');
    expect(malformed.body.detail).toMatch(/malformed JSON/i);

    expectProblem(await post({ token, rawBody: '[1, 2]' }), 400, 'invalid-request');
    expectProblem(await post({ token, rawBody: '' }), 400, 'invalid-request');

    expect((await audit(product.id)).available).toBe(10);
  });

  it('a body over the size limit is refused before parsing, naming the body', async () => {
    const product = await newProduct({ stock_total: 10 });
    const token = await buyerToken();
    const big = JSON.stringify({ product_id: product.id, qty: 1, pad: 'x'.repeat(BODY_BYTES_MAX) });

    const r = await post({ token, rawBody: big });
    expectNamesField(r, '(body)');
    expect(r.body.detail).toMatch(/too large/);
    expect((await audit(product.id)).available).toBe(10);
  });

  it('an invalid Idempotency-Key header is 400 naming the header, and reserves nothing', async () => {
    const product = await newProduct({ stock_total: 10 });
    const token = await buyerToken();
    const body = { product_id: product.id, qty: 1 };

    expectNamesField(
      await post({ token, body, headers: { 'idempotency-key': 'k'.repeat(256) } }),
      'Idempotency-Key',
    );
    expect((await audit(product.id)).available).toBe(10);
    // 255 printable characters is the longest valid key
    expect((await post({ token, body, headers: { 'idempotency-key': 'k'.repeat(255) } })).status).toBe(202);
  });
});

describe('401 unauthorized, checked before the body', () => {
  const garbage = '{"qty": ';

  it('no token, another secret, malformed, expired, no exp, a bad sub: all 401', async () => {
    const product = await newProduct({ stock_total: 10 });
    const body = { product_id: product.id, qty: 1 };
    const secret = new TextEncoder().encode(process.env['AUTH_JWT_SECRET']!);
    const otherSecret = new TextEncoder().encode(`not-${process.env['AUTH_JWT_SECRET']}`);
    const now_s = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .setExpirationTime('1h')
      .sign(otherSecret);
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(`c-${randomUUID()}`)
      .setIssuedAt(now_s - 7200)
      .setExpirationTime(now_s - 3600)
      .sign(secret);
    const signed = (sub: string, exp_s: number | null) => {
      const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt();
      return (exp_s === null ? jwt : jwt.setExpirationTime(exp_s)).sign(secret);
    };
    // API.md: `exp` is required; `sub` is 1-128 printable characters.
    const noExp = await signed(`c-${randomUUID()}`, null);
    const longSub = await signed('x'.repeat(129), now_s + 3600);
    const controlSub = await signed('bob\u0000', now_s + 3600);

    const cases: Record<string, Record<string, string>> = {
      'no token': {},
      'not bearer': { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      forged: { authorization: `Bearer ${forged}` },
      malformed: { authorization: 'Bearer not.a.jwt' },
      expired: { authorization: `Bearer ${expired}` },
      'no exp': { authorization: `Bearer ${noExp}` },
      'sub of 129 characters': { authorization: `Bearer ${longSub}` },
      'sub with a control character': { authorization: `Bearer ${controlSub}` },
    };
    for (const [name, headers] of Object.entries(cases)) {
      for (const request of [{ body }, { rawBody: garbage }]) {
        const r = await post({ ...request, headers });
        expect({ name, status: r.status }).toEqual({ name, status: 401 });
        expectProblem(r, 401, 'unauthorized');
        expect(r.body.errors).toBeUndefined(); // nothing about the body leaks before auth
      }
    }
    expect((await audit(product.id)).available).toBe(10);
  });
});

describe('business rejections', () => {
  it('422 qty-above-limit names the limit and takes nothing', async () => {
    const product = await newProduct({ stock_total: 10, max_per_order: 2 });
    for (const qty of [3, 1_000_001, Number.MAX_SAFE_INTEGER]) {
      const r = await reserve(await buyerToken(), product.id, qty);
      expectProblem(r, 422, 'qty-above-limit');
      expect(r.body.max_per_order).toBe(2);
    }
    expect((await audit(product.id)).available).toBe(10);
  });

  it('404 product-not-found for an id no product has, however large (an exact JSON integer)', async () => {
    for (const id of [0xffff_ffff, 0x1_0000_0000, Number.MAX_SAFE_INTEGER]) {
      const r = await reserve(await buyerToken(), id, 1);
      expectProblem(r, 404, 'product-not-found');
    }
  });

  it('409 sale-not-started before the window opens (with starts_at)', async () => {
    const starts_at = iso(HOUR_MS);
    const product = await newProduct({ stock_total: 10, sale_starts_at: starts_at });
    expect(product.sale.state).toBe('upcoming');
    const r = await reserve(await buyerToken(), product.id, 1);
    expectProblem(r, 409, 'sale-not-started');
    expect(new Date(r.body.starts_at).getTime()).toBe(new Date(starts_at).getTime());
    expect((await audit(product.id)).available).toBe(10);
  });

  it('409 sale-ended after the window closed', async () => {
    const product = await newProduct({
      stock_total: 10,
      sale_starts_at: iso(-2 * HOUR_MS),
      sale_ends_at: iso(-HOUR_MS),
    });
    expect(product.sale.state).toBe('ended');
    const r = await reserve(await buyerToken(), product.id, 1);
    expectProblem(r, 409, 'sale-ended');
    expect((await audit(product.id)).available).toBe(10);
  });

  it('409 sale-paused while paused', async () => {
    const product = await newProduct({ stock_total: 10, paused: true });
    const r = await reserve(await buyerToken(), product.id, 1);
    expectProblem(r, 409, 'sale-paused');
    expect((await audit(product.id)).available).toBe(10);
  });

  it('a live window (started in the past, ending in the future) sells', async () => {
    const product = await newProduct({
      stock_total: 10,
      sale_starts_at: iso(-HOUR_MS),
      sale_ends_at: iso(HOUR_MS),
    });
    expect((await reserve(await buyerToken(), product.id, 1)).status).toBe(202);
  });

  it('409 customer-limit-reached with the units still allowed (remaining)', async () => {
    const product = await newProduct({ stock_total: 10, per_customer_limit: 3 });
    const token = await buyerToken();

    expect((await reserve(token, product.id, 2)).status).toBe(202);
    const over = await reserve(token, product.id, 2);
    expectProblem(over, 409, 'customer-limit-reached');
    expect(over.body.remaining).toBe(1);
    expect((await reserve(token, product.id, 1)).status).toBe(202);
    const full = await reserve(token, product.id, 1);
    expectProblem(full, 409, 'customer-limit-reached');
    expect(full.body.remaining).toBe(0);
    // another customer is not affected by this one's limit
    expect((await reserve(await buyerToken(), product.id, 3)).status).toBe(202);
    expect((await audit(product.id)).available).toBe(4);
  });

  it('409 insufficient-stock with what is available, 0 when sold out', async () => {
    const product = await newProduct({ stock_total: 3 });

    expect((await reserve(await buyerToken(), product.id, 2)).status).toBe(202);
    const short = await reserve(await buyerToken(), product.id, 2);
    expectProblem(short, 409, 'insufficient-stock');
    expect(short.body.available).toBe(1);
    expect((await reserve(await buyerToken(), product.id, 1)).status).toBe(202);
    const soldOut = await reserve(await buyerToken(), product.id, 1);
    expectProblem(soldOut, 409, 'insufficient-stock');
    expect(soldOut.body.available).toBe(0);
    expect(await audit(product.id)).toMatchObject({ available: 0, reserved: 3, drift: 0 });
  });
});

describe('Idempotency-Key', () => {
  it('a replay returns 202 with Idempotent-Replayed: true and the original order view', async () => {
    const product = await newProduct({ stock_total: 10 });
    const token = await buyerToken();
    const key = `k-${randomUUID()}`;

    const first = await reserve(token, product.id, 2, key);
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(first.body).toMatchObject({ status: 'reserved', product_id: product.id, qty: 2 });
    expect(first.headers.get('location')).toBe(`/api/orders/${first.body.order_id}`);

    const again = await reserve(token, product.id, 2, key);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('location')).toBe(first.headers.get('location'));

    expect((await audit(product.id)).available).toBe(8);
  });

  it('422 idempotency-key-reused when the same key comes with another body', async () => {
    const product = await newProduct({ stock_total: 10 });
    const token = await buyerToken();
    const key = `k-${randomUUID()}`;

    expect((await reserve(token, product.id, 1, key)).status).toBe(202);
    expectProblem(await reserve(token, product.id, 2, key), 422, 'idempotency-key-reused');
    expect((await audit(product.id)).available).toBe(9);
  });

  it('keys are scoped to the customer and the product', async () => {
    const a = await newProduct({ stock_total: 10 });
    const b = await newProduct({ stock_total: 10 });
    const token = await buyerToken();
    const key = `k-${randomUUID()}`;

    const first = await reserve(token, a.id, 1, key);
    const otherCustomer = await reserve(await buyerToken(), a.id, 1, key);
    const otherProduct = await reserve(token, b.id, 1, key);
    for (const r of [first, otherCustomer, otherProduct]) {
      expect(r.status).toBe(202);
      expect(r.headers.get('idempotent-replayed')).toBeNull();
    }
    expect(new Set([first, otherCustomer, otherProduct].map((r) => r.body.order_id)).size).toBe(3);
    expect((await audit(a.id)).available).toBe(8);
    expect((await audit(b.id)).available).toBe(9);
  });
});
