// The error catalogue: every problem this API answers, with its status and title, in one place.
// Bodies are RFC 9457 application/problem+json; `type` ends in the code (API.md).

export const PROBLEM_BASE = 'https://flash-sale.dev/problems/';

export const CATALOGUE = {
  'invalid-request': { status: 400, title: 'The request is not valid' },
  unauthorized: { status: 401, title: 'Authentication required' },
  'invalid-signature': { status: 401, title: 'The webhook signature is not valid' },
  forbidden: { status: 403, title: 'Not allowed' },
  'not-found': { status: 404, title: 'No such resource' },
  'product-not-found': { status: 404, title: 'Product not found' },
  'order-not-found': { status: 404, title: 'Order not found' },
  'sale-not-started': { status: 409, title: 'The sale has not started' },
  'sale-paused': { status: 409, title: 'The sale is paused' },
  'sale-ended': { status: 409, title: 'The sale has ended' },
  'customer-limit-reached': { status: 409, title: 'Customer limit reached' },
  'insufficient-stock': { status: 409, title: 'Not enough stock' },
  'order-not-cancellable': { status: 409, title: 'The order cannot be cancelled' },
  'stock-would-go-negative': { status: 409, title: 'Stock change refused' },
  'sku-taken': { status: 409, title: 'SKU already exists' },
  'payload-too-large': { status: 413, title: 'The request body is too large' },
  'idempotency-key-reused': { status: 422, title: 'Idempotency key reused with a different request' },
  'qty-above-limit': { status: 422, title: 'Quantity above the per-order limit' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'Temporarily unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof CATALOGUE;

/** An HTTP-level failure carrying its catalogue code; thrown by middlewares, mapped once. */
export class Problem extends Error {
  readonly status: number;
  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.status = CATALOGUE[code].status;
  }
}

export function problemBody(p: Problem, instance?: string): Record<string, unknown> {
  // Extension members first: they can never replace the standard ones (RFC 9457).
  return {
    ...p.extra,
    type: PROBLEM_BASE + p.code,
    title: CATALOGUE[p.code].title,
    status: p.status,
    detail: p.detail,
    ...(instance ? { instance } : {}),
  };
}
