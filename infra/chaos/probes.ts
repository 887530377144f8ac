// Requests a fault's `during` check sends while a backing service is down (infra/chaos/faults.ts):
// the routes beside the reserve must answer 503 + Retry-After, never a 500.
import { randomUUID } from 'node:crypto';
import { mintToken } from '../../lib/http/auth';
import { PROBLEM_BASE } from '../../lib/http/problems';
import { newOrderId } from '../../lib/sale/order-id';
import type { Stack } from '../local/stack';
import type { FaultContext } from './faults';

interface Probe {
  method?: 'GET' | 'POST';
  path: string;
  token?: string;
}

const ask = (stack: Stack, { method = 'GET', path, token }: Probe) =>
  fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(20_000),
  }).catch((err: Error) => err);

/** Each probed function loaded before the fault: `during` then times its answer, not its cold start. */
export async function warmUp(stack: Stack, probes: Probe[]): Promise<void> {
  await Promise.all(probes.map((p) => ask(stack, p).then((r) => (r instanceof Error ? null : r.text()))));
}

/** Routes beside the reserve that need Redis: a product, and a cancel of an order not persisted. */
export async function redisProbes(ctx: FaultContext): Promise<Probe[]> {
  const buyer = await mintToken({ customer_id: `probe-${randomUUID()}` });
  return [
    { path: `/api/products/${ctx.product_id}` },
    // an id PostgreSQL does not hold: only Redis knows whether it waits in the outbox
    { method: 'POST', path: `/api/orders/${newOrderId(ctx.product_id)}/cancel`, token: buyer },
  ];
}

/** Routes that need PostgreSQL: a buyer's order list, the operator's stats. */
export async function postgresProbes(): Promise<Probe[]> {
  return [
    { path: '/api/orders', token: await mintToken({ customer_id: `probe-${randomUUID()}` }) },
    { path: '/api/admin/stats', token: await mintToken({ customer_id: 'chaos-admin', admin: true }) },
  ];
}

/**
 * Routes beside the reserve the load drives, asked while a backing service is down: each must answer
 * 503 with `Retry-After: 1` and the problem+json `unavailable` (API.md), never a 500.
 */
export async function answersUnavailable(stack: Stack, probes: Probe[]): Promise<string | null> {
  const wrong = await Promise.all(
    probes.map(async (p) => {
      const what = `${p.method ?? 'GET'} ${p.path}`;
      const r = await ask(stack, p);
      if (r instanceof Error) return `${what}: ${r.message}`;
      const type = r.headers.get('content-type') ?? '';
      const body = (await r.json().catch(() => null)) as { type?: string } | null;
      const retryAfter = r.headers.get('retry-after');
      const ok =
        r.status === 503 &&
        retryAfter === '1' &&
        type.startsWith('application/problem+json') &&
        body?.type === `${PROBLEM_BASE}unavailable`;
      return ok
        ? null
        : `${what} answered ${r.status} (Retry-After ${retryAfter}, ${type}): ${JSON.stringify(body)}`;
    }),
  );
  const problems = wrong.filter((w) => w !== null);
  return problems.length ? problems.join('; ') : null;
}

export async function buyOnce(stack: Stack, product_id: number): Promise<number> {
  const r = await fetch(`${stack.baseUrl}/api/orders`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await mintToken({ customer_id: `probe-${randomUUID()}` })}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ product_id, qty: 1 }),
  });
  return r.status;
}
