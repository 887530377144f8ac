// Pins down the release run's product scope (ReleaseRunOpts.product_ids), which the test helper
// gives every run (a test file's own products): a scoped run leaves every other product's overdue
// reservation, unsent order and pending stock adjustment alone; a run over that product takes them.
import { describe, expect, it } from 'vitest';
import { redisClient } from '../../lib/inventory/client';
import { productKeys } from '../../lib/inventory/keys';
import { newProduct, ownProducts } from '../helpers/api';
import { fileBackends } from '../helpers/backends';
import { releaseRun } from '../helpers/domain';
import { pendingAdjustment, persistedOrder, reservedUnsent } from '../helpers/in-flight';
import { clearOfScheduledRun } from '../helpers/schedule';

const { sql, prefix } = fileBackends();

const status = async (order_id: string) =>
  (await sql<{ status: string }[]>`SELECT status FROM orders WHERE order_id = ${order_id}`)[0]?.status;
const pending = async (adjustment_id: number) =>
  (
    await sql<{ pending: boolean }[]>`
      SELECT applied_at IS NULL AND refused_at IS NULL AS pending FROM stock_adjustments
      WHERE id = ${adjustment_id}`
  )[0]?.pending;

/** One product with an overdue reservation, an unsent order and a pending adjustment. */
async function productWithWork() {
  const product = await newProduct({ stock_total: 10 });
  const overdue = await persistedOrder(product.id, 1, { overdue: true });
  const unsent = await reservedUnsent(product.id, 1);
  return { product, overdue, unsent, adjustment: await pendingAdjustment(product.id, 2) };
}

describe('a release run scoped to some products', () => {
  it('touches nothing of another product; the run over that product does its work', async () => {
    // The stack's own every-minute run covers every product: it would expire `other`'s order too.
    await clearOfScheduledRun(10);
    const mine = await productWithWork();
    const other = await productWithWork();

    const scoped = await releaseRun({ product_ids: [mine.product.id] });
    expect(scoped).toMatchObject({ expired: 1, outbox_resent: 1, adjustments_settled: 1 });
    expect(await status(mine.overdue.order_id)).toBe('expired');
    expect(await pending(mine.adjustment.id)).toBe(false);

    expect(await status(other.overdue.order_id), "the other product's overdue order").toBe('reserved');
    expect(await pending(other.adjustment.id), "the other product's adjustment").toBe(true);
    const outbox = productKeys(prefix, other.product.id).outbox;
    expect(await redisClient().zrange(outbox, '0', '-1')).toContain(other.unsent.order_id);

    const theirs = await releaseRun({ product_ids: [other.product.id] });
    expect(theirs).toMatchObject({ expired: 1, outbox_resent: 1, adjustments_settled: 1 });
    expect(await status(other.overdue.order_id)).toBe('expired');
    expect(await pending(other.adjustment.id)).toBe(false);
  });

  it("the helper's run covers exactly the products this file created", async () => {
    const { product, overdue } = await productWithWork();
    expect(ownProducts.has(product.id)).toBe(true);
    const r = await releaseRun();
    expect(r.expired).toBe(1);
    expect(await status(overdue.order_id)).toBe('expired');
  });
});
