// Pins down the pruning of Redis's per-product `released` hash (issue 12, item 1): the release run
// forgets entries of orders final in PostgreSQL with their release applied, after a grace; never an
// `expired` order's (a late success may still retake it) nor a fresh one. A late success after the
// prune is judged by PostgreSQL's release record, and no release is applied twice.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { settleDeps } from '../../lib/container';
import { redisClient } from '../../lib/inventory/client';
import { productKeys } from '../../lib/inventory/keys';
import { cancelOrder } from '../../lib/sale/cancel-order';
import type { PaymentEvent } from '../../lib/sale/order-rules';
import { handlePayment } from '../../lib/sale/settle-payment';
import type { Order, Product } from '../../lib/sale/types';
import { audit, newProduct } from '../helpers/api';
import { fileBackends } from '../helpers/backends';
import { releaseRun } from '../helpers/domain';
import { persistedOrder } from '../helpers/in-flight';

const { sql, prefix } = fileBackends();
const GRACE_S = 3600;

/** The release run over this product only, pruning after GRACE_S. */
const runFor = (product: Product) => releaseRun({ product_ids: [product.id], prune_after_s: GRACE_S });

const event = (order: Order, type: PaymentEvent['type']): PaymentEvent => ({
  webhook_id: `msg_${randomUUID()}`,
  type,
  order_id: order.order_id,
  amount_cents: order.amount_cents,
  currency: order.currency,
  payment_id: `pay_${randomUUID()}`,
});

async function cancel(order: Order) {
  const r = await cancelOrder(settleDeps(), order.order_id, { customer_id: order.customer_id, admin: false });
  expect(r.kind).toBe('cancelled');
}

/** Moves the release records back in time, as if applied longer ago than the grace. */
async function age(orders: Order[]) {
  const ids = orders.map((o) => o.order_id);
  await sql`UPDATE stock_releases SET released_at = now() - make_interval(secs => ${GRACE_S + 60})
    WHERE order_id = ANY(${ids}::uuid[]) AND released_at IS NOT NULL`;
}

const releasedKey = (product: Product) => productKeys(prefix, product.id).released;
const entries = (product: Product) => redisClient().hgetall(releasedKey(product));
const bytes = async (product: Product) =>
  Number((await redisClient().call('MEMORY', 'USAGE', releasedKey(product))) ?? 0);

async function statusOf(order_id: string): Promise<string> {
  const [r] = await sql<{ status: string }[]>`SELECT status FROM orders WHERE order_id = ${order_id}`;
  return r!.status;
}

describe('pruning the released hash', () => {
  it('removes final, released, old entries; keeps expired and fresh ones; a second run finds none', async () => {
    const product = await newProduct({ stock_total: 10 });
    const cancelled = await persistedOrder(product.id);
    const failed = await persistedOrder(product.id);
    const expired = await persistedOrder(product.id, 1, { overdue: true });
    const fresh = await persistedOrder(product.id);
    await cancel(cancelled);
    expect(await handlePayment(settleDeps(), event(failed, 'payment.failed'))).toMatchObject({
      status: 'payment_failed',
    });
    await runFor(product); // expires `expired`
    expect(await statusOf(expired.order_id)).toBe('expired');
    await cancel(fresh);
    await age([cancelled, failed, expired]);
    const before = await bytes(product);

    const report = await runFor(product);
    expect(report.releases_pruned).toBe(2);
    const left = await entries(product);
    expect(Object.keys(left).sort()).toEqual([expired.order_id, fresh.order_id].sort());
    console.log(`released hash: ${before} bytes before, ${await bytes(product)} bytes after pruning 2 of 4`);

    expect((await runFor(product)).releases_pruned, 'pruned_at: never the same rows again').toBe(0);
    expect(await audit(product.id)).toMatchObject({ available: 10, drift: 0, ok: true });
  });

  it('prune, then a late success on an expired order whose unit was resold: refund_required', async () => {
    const product = await newProduct({ stock_total: 2 });
    const cancelled = await persistedOrder(product.id);
    await cancel(cancelled);
    const late = await persistedOrder(product.id, 1, { overdue: true });
    await runFor(product);
    expect(await statusOf(late.order_id)).toBe('expired');
    await persistedOrder(product.id, 2); // the buyer takes both units, the late order's included
    await age([cancelled, late]);

    expect((await runFor(product)).releases_pruned).toBe(1);
    expect(await entries(product)).toEqual({ [late.order_id]: 'released' });

    const r = await handlePayment(settleDeps(), event(late, 'payment.succeeded'));
    expect(r).toMatchObject({ result: 'applied', status: 'refund_required' });
    expect(await audit(product.id)).toMatchObject({ available: 0, reserved: 2, drift: 0, ok: true });
  });

  it('a pruned cancelled order gives its units back once: repeated cancel, payments and runs change nothing', async () => {
    const product = await newProduct({ stock_total: 3 });
    const cancelled = await persistedOrder(product.id, 2);
    await cancel(cancelled);
    await age([cancelled]);
    expect((await runFor(product)).releases_pruned).toBe(1);
    expect(await entries(product)).toEqual({});

    const again = await cancelOrder(settleDeps(), cancelled.order_id, {
      customer_id: cancelled.customer_id,
      admin: false,
    });
    expect(again.kind).toBe('not_cancellable');
    await handlePayment(settleDeps(), event(cancelled, 'payment.failed'));
    expect(await handlePayment(settleDeps(), event(cancelled, 'payment.succeeded'))).toMatchObject({
      status: 'refund_required',
    });
    await runFor(product); // the pruned order's release is stamped: never re-applied
    expect(await audit(product.id)).toMatchObject({ available: 3, drift: 0, ok: true });
  });
});
