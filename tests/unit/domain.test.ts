// Pins down the pure domain bits: order ids (RFC 9562 v8 carrying the product id), the sale state
// derived from the window and pause flag, and the JSON body parser naming the offending field.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { BODY_BYTES_MAX, parseJsonBody, tightestBounds } from '../../lib/http/body';
import { Problem } from '../../lib/http/problems';
import { CreateOrderBody } from '../../lib/http/schemas';
import { isUuid, newOrderId, PRODUCT_ID_MAX, productIdOf } from '../../lib/sale/order-id';
import { saleState } from '../../lib/sale/types';

describe('order ids', () => {
  it('round-trip the product id, including both ends of the range', () => {
    for (const id of [1, 2, 42, 65_535, 65_536, 1_000_000_007, PRODUCT_ID_MAX - 1, PRODUCT_ID_MAX]) {
      const order_id = newOrderId(id);
      expect(isUuid(order_id)).toBe(true);
      expect(productIdOf(order_id)).toBe(id);
      expect(productIdOf(order_id.toUpperCase())).toBe(id);
    }
  });

  it('are RFC 9562 version 8 with the RFC variant, lower-case, and unique', () => {
    const ids = Array.from({ length: 2000 }, () => newOrderId(7));
    for (const order_id of ids) {
      expect(order_id).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{4}00000007$/,
      );
      const bytes = Buffer.from(order_id.replaceAll('-', ''), 'hex');
      expect(bytes[6]! >> 4).toBe(8); // version
      expect(bytes[8]! >> 6).toBe(0b10); // variant
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('start with the creation time, so they sort by it', () => {
    const t = Date.UTC(2026, 0, 1);
    const a = newOrderId(1, t);
    const b = newOrderId(1, t + 1);
    const c = newOrderId(1, t + 86_400_000);
    expect([c, a, b].sort()).toEqual([a, b, c]);
    expect(Number.parseInt(a.replaceAll('-', '').slice(0, 12), 16)).toBe(t);
  });

  it('reject product ids out of range', () => {
    for (const bad of [0, -1, 1.5, PRODUCT_ID_MAX + 1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => newOrderId(bad)).toThrow(RangeError);
    }
  });

  it('productIdOf is null for UUIDs this service did not mint, and for non-UUIDs', () => {
    expect(productIdOf(crypto.randomUUID())).toBeNull(); // version 4
    expect(productIdOf('01a2132e-d32a-8fc0-90ed-495400000000')).toBeNull(); // v8 but product 0
    expect(productIdOf('01a2132e-d32a-8fc0-c0ed-495400000001')).toBeNull(); // wrong variant
    expect(productIdOf('not-a-uuid')).toBeNull();
    expect(productIdOf(`${newOrderId(5)}0`)).toBeNull();
    expect(isUuid('01a2132e-d32a-8fc0-90ed-49540000000')).toBe(false);
    expect(isUuid(crypto.randomUUID())).toBe(true);
  });
});

describe('saleState', () => {
  const now = Date.UTC(2026, 5, 1, 12);
  const at = (ms: number) => new Date(now + ms);
  const s = (p: { paused?: boolean; starts?: number | null; ends?: number | null }) =>
    saleState(
      {
        paused: p.paused ?? false,
        sale_starts_at: p.starts == null ? null : at(p.starts),
        sale_ends_at: p.ends == null ? null : at(p.ends),
      },
      now,
    );

  it('no window is live; a window is upcoming, live, then ended (start inclusive, end exclusive)', () => {
    expect(s({})).toBe('live');
    expect(s({ starts: 1 })).toBe('upcoming');
    expect(s({ starts: 0 })).toBe('live');
    expect(s({ starts: -1, ends: 1 })).toBe('live');
    expect(s({ ends: 0 })).toBe('ended');
    expect(s({ starts: -2, ends: -1 })).toBe('ended');
  });

  it('paused wins over live and upcoming, ended wins over paused', () => {
    expect(s({ paused: true })).toBe('paused');
    expect(s({ paused: true, starts: 1000 })).toBe('paused');
    expect(s({ paused: true, ends: -1 })).toBe('ended');
  });
});

describe('parseJsonBody', () => {
  const event = (body: string | undefined, isBase64Encoded = false) =>
    ({ body, isBase64Encoded }) as unknown as APIGatewayProxyEventV2;

  /** The 400 problem thrown for this body, with the fields it names. */
  function refusal(body: string | undefined, isBase64Encoded = false) {
    try {
      parseJsonBody(event(body, isBase64Encoded), CreateOrderBody);
    } catch (err) {
      expect(err).toBeInstanceOf(Problem);
      const p = err as Problem;
      expect([p.code, p.status]).toEqual(['invalid-request', 400]);
      return { fields: (p.extra['errors'] as { field: string }[]).map((e) => e.field), detail: p.detail };
    }
    throw new Error('expected the body to be refused');
  }

  it('returns the parsed body when valid, also base64-encoded', () => {
    expect(parseJsonBody(event('{"product_id":3,"qty":2}'), CreateOrderBody)).toEqual({
      product_id: 3,
      qty: 2,
    });
    const b64 = Buffer.from('{"product_id":3,"qty":1}').toString('base64');
    expect(parseJsonBody(event(b64, true), CreateOrderBody)).toEqual({ product_id: 3, qty: 1 });
  });

  it("names a number past JSON's exact integers once; a large exact one is the domain's to judge (404 / 422)", () => {
    for (const product_id of ['9007199254740992', '1e300']) {
      const r = refusal(`{"product_id":${product_id},"qty":1}`);
      expect(r.fields).toEqual(['product_id']);
      expect(r.detail).toBe('product_id: Too big: expected int to be <=9007199254740991');
    }
    const both = refusal('{"product_id":1e300,"qty":1e300}');
    expect(both.fields).toEqual(['product_id', 'qty']);
    const large = '{"product_id":4294967296,"qty":1000001}';
    expect(parseJsonBody(event(large), CreateOrderBody)).toEqual({ product_id: 4294967296, qty: 1000001 });
  });

  it('keeps the tightest bound per field when a schema has its own maximum', () => {
    const issues = [
      { code: 'too_big', path: ['n'], maximum: 9007199254740991, message: 'safe' },
      { code: 'too_big', path: ['n'], maximum: 1000, message: 'schema' },
      { code: 'invalid_type', path: ['m'], message: 'type' },
    ];
    expect(tightestBounds(issues).map((i) => i.message)).toEqual(['schema', 'type']);
  });

  it('names missing, out-of-range, non-integer and mistyped fields', () => {
    expect(refusal('{"product_id":1}').fields).toEqual(['qty']);
    expect(refusal('{"qty":1}').fields).toEqual(['product_id']);
    expect(refusal('{}').fields.sort()).toEqual(['product_id', 'qty']);
    expect(refusal('{"product_id":1,"qty":0}').fields).toEqual(['qty']);
    expect(refusal('{"product_id":1,"qty":2.5}').fields).toEqual(['qty']);
    expect(refusal('{"product_id":1,"qty":"2"}').fields).toEqual(['qty']);
    expect(refusal('{"product_id":-4,"qty":1}').fields).toEqual(['product_id']);
    const r = refusal('{"product_id":1,"qty":null}');
    expect(r.fields).toEqual(['qty']);
    expect(r.detail).toMatch(/^qty: /);
  });

  it('names unknown keys themselves, not their parent', () => {
    expect(refusal('{"product_id":1,"qty":1,"color":"red"}').fields).toEqual(['color']);
    expect(refusal('{"product_id":1,"qty":1,"a":1,"b":2}').fields).toEqual(['a,b']);
  });

  it('names the whole body for malformed JSON, an empty body, a non-object and an oversized body', () => {
    expect(refusal('{"product_id":1,').fields).toEqual(['(body)']);
    expect(refusal(undefined).fields).toEqual(['(body)']);
    expect(refusal('   ').fields).toEqual(['(body)']);
    expect(refusal('[1,2]').fields).toEqual(['(body)']);
    expect(refusal('"text"').fields).toEqual(['(body)']);
    const big = refusal(`{"product_id":1,"qty":1,"x":"${'a'.repeat(BODY_BYTES_MAX)}"}`);
    expect(big.fields).toEqual(['(body)']);
    expect(big.detail).toMatch(/too large/);
  });

  it('measures the size limit in bytes, not characters', () => {
    const fits = `{"product_id":1,"qty":1}${' '.repeat(BODY_BYTES_MAX - 24)}`;
    expect(Buffer.byteLength(fits)).toBe(BODY_BYTES_MAX);
    expect(parseJsonBody(event(fits), CreateOrderBody)).toEqual({ product_id: 1, qty: 1 });
    expect(refusal(`${fits} `).detail).toMatch(/too large/);
    // 1,400 characters, 4,200 bytes
    expect(refusal(`{"product_id":1,"qty":1,"x":"${'€'.repeat(1400)}"}`).detail).toMatch(/too large/);
  });
});
