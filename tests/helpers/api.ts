// Test helpers for talking to the running stack over HTTP, as a client would.
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { mintToken } from '../../lib/http/auth';

export const baseUrl = () => inject('baseUrl');

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export async function call<T = any>(
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
  if (opts.body !== undefined || opts.rawBody !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${baseUrl()}${path}`, {
    method,
    headers,
    body: opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

export const buyerToken = (customer_id: string = `c-${randomUUID()}`) => mintToken({ customer_id });
export const adminToken = () => mintToken({ customer_id: 'test-admin', admin: true });

export interface ProductInput {
  stock_total?: number;
  max_per_order?: number;
  per_customer_limit?: number | null;
  reservation_ttl_s?: number;
  sale_starts_at?: string | null;
  sale_ends_at?: string | null;
  price_cents?: number;
  paused?: boolean;
}

/**
 * The products this test file created (vitest gives every file its own module registry, so each
 * file sees only its own): the test release runs cover these and nothing else
 * (tests/helpers/domain.ts), so no file's run touches what another file's tests hold on purpose.
 */
export const ownProducts = new Set<number>();

/** A fresh product per test: tests never share stock. */
export async function newProduct(input: ProductInput = {}): Promise<any> {
  // A 503 (Redis or PostgreSQL briefly out of reach on a loaded machine) is retried as a client
  // would, with a fresh SKU: a half-made first attempt is loaded by a later release run.
  for (let attempt = 1; ; attempt++) {
    const r = await call('POST', '/api/admin/products', {
      token: await adminToken(),
      body: {
        sku: `T-${randomUUID()}`,
        name: 'test product',
        price_cents: input.price_cents ?? 1000,
        currency: 'EUR',
        stock_total: input.stock_total ?? 100,
        ...input,
      },
    });
    if (r.status === 201) {
      ownProducts.add(r.body.id);
      return r.body;
    }
    // serverless-offline answers a function that ran out of time with its own LambdaTimeoutError body
    const outOfTime = r.body?.errorType === 'LambdaTimeoutError';
    if ((r.status !== 503 && !outOfTime) || attempt === 3) {
      throw new Error(`creating product failed: ${r.status} ${JSON.stringify(r.body)}`);
    }
    await new Promise((res) => setTimeout(res, 1000));
  }
}

export const reserve = async (token: string, product_id: number, qty: number, idempotencyKey?: string) =>
  call('POST', '/api/orders', {
    token,
    body: { product_id, qty },
    headers: idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
  });

export async function audit(product_id: number): Promise<any> {
  return (await call('GET', `/api/admin/products/${product_id}/audit`, { token: await adminToken() })).body;
}

/** Waits until every accepted order of the product is in PostgreSQL (in_flight 0). */
export async function drained(product_id: number, timeout_ms = 60_000): Promise<any> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const a = await audit(product_id);
    if (a.in_flight === 0) return a;
    if (Date.now() > deadline) throw new Error(`not drained: ${JSON.stringify(a)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
