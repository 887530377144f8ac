// Pins down stock_delta's ordering (issue 11 item 5): PostgreSQL records the delta first as a
// pending adjustment, Redis applies it at most once by id, and the release run finishes or takes
// back what a crash left pending. Real Redis and PostgreSQL; the "crash" is the adapter called
// step-wise (the PostgreSQL write without the Redis call that follows it).
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inventory, products } from '../../lib/container';
import { domainLog } from '../../lib/platform/logger';
import { canonicalRequest, updateProduct } from '../../lib/sale/catalog';
import { adminToken, audit, call, newProduct } from '../helpers/api';
import { fileBackends } from '../helpers/backends';
import { releaseRun } from '../helpers/domain';
import { pendingAdjustment, reservedUnsent } from '../helpers/in-flight';

const { sql } = fileBackends();

const redisState = async (id: number) => {
  const [s] = await inventory().snapshots([id]);
  return { stock_total: s!.product.stock_total, available: s!.available };
};
const pgStockTotal = async (id: number) =>
  (await sql<{ stock_total: number }[]>`SELECT stock_total FROM products WHERE id = ${id}`)[0]!.stock_total;
const fate = async (adjustment_id: number) =>
  (
    await sql<{ applied: boolean; refused: boolean }[]>`
      SELECT applied_at IS NOT NULL AS applied, refused_at IS NOT NULL AS refused
      FROM stock_adjustments WHERE id = ${adjustment_id}`
  )[0];

describe('stock_delta across a crash', () => {
  it('a crash between the PostgreSQL write and Redis: the next release run applies it exactly once', async () => {
    const product = await newProduct({ stock_total: 5 });
    const adjustment = await pendingAdjustment(product.id, 3);
    expect(await pgStockTotal(product.id)).toBe(8);
    expect(await redisState(product.id)).toEqual({ stock_total: 5, available: 5 });

    expect((await releaseRun()).adjustments_settled).toBe(1);
    expect(await fate(adjustment.id)).toEqual({ applied: true, refused: false });
    expect(await redisState(product.id)).toEqual({ stock_total: 8, available: 8 });
    // A second run, and the dead PATCH's call arriving late: nothing more.
    await releaseRun();
    expect(await inventory().adjustStock(product.id, adjustment)).toMatchObject({
      kind: 'applied',
      stock_total: 8,
    });
    expect(await redisState(product.id)).toEqual({ stock_total: 8, available: 8 });
    expect(await audit(product.id)).toMatchObject({ stock_total: 8, available: 8, ok: true });
  });

  it('applying the same adjustment twice changes stock once', async () => {
    const product = await newProduct({ stock_total: 5 });
    const adjustment = await pendingAdjustment(product.id, -2);
    const first = await inventory().adjustStock(product.id, adjustment);
    const second = await inventory().adjustStock(product.id, adjustment);
    expect(first).toEqual({ kind: 'applied', stock_total: 3, available: 3 });
    expect(second).toEqual(first);
    expect(await products().settleAdjustment(adjustment, 'applied')).toBe('applied');
    expect(await products().settleAdjustment(adjustment, 'refused')).toBe('applied');
    expect(await pgStockTotal(product.id)).toBe(3);
    expect(await audit(product.id)).toMatchObject({ stock_total: 3, available: 3, ok: true });
  });

  it('a refused delta (would go negative) leaves both stores unchanged', async () => {
    const product = await newProduct({ stock_total: 3 });
    await reservedUnsent(product.id, 2);
    const r = await updateProduct(
      { inventory: inventory(), products: products(), log: domainLog },
      product.id,
      {
        stock_delta: -2,
      },
    );
    expect(r).toEqual({ kind: 'stock_would_go_negative', available: 1 });
    expect(await pgStockTotal(product.id)).toBe(3);
    expect(await redisState(product.id)).toEqual({ stock_total: 3, available: 1 });
    const [row] = await sql<{ refused: boolean }[]>`
      SELECT refused_at IS NOT NULL AS refused FROM stock_adjustments WHERE product_id = ${product.id}`;
    expect(row).toEqual({ refused: true });
  });

  it('a PATCH whose stock_delta Redis refuses (409) changes none of its other fields, then or after the release run', async () => {
    // Before: the settings were committed with the pending delta and only the delta was taken
    // back, so the next release run (or any other PATCH) put `paused: true` live behind the 409.
    const product = await newProduct({ stock_total: 3 });
    await reservedUnsent(product.id, 2);
    const token = await adminToken();
    const r = await call('PATCH', `/api/admin/products/${product.id}`, {
      token,
      body: { paused: true, max_per_order: 2, stock_delta: -2 },
    });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ available: 1 });
    await releaseRun();
    const view = await call('GET', `/api/products/${product.id}`);
    expect(view.body).toMatchObject({
      stock_total: 3,
      available: 1,
      max_per_order: 10,
      sale: { paused: false },
    });
    const [row] = await sql<{ paused: boolean; max_per_order: number; stock_total: number }[]>`
      SELECT paused, max_per_order, stock_total FROM products WHERE id = ${product.id}`;
    expect(row).toEqual({ paused: false, max_per_order: 10, stock_total: 3 });
    // A later PATCH of another field writes the whole row to Redis: still not paused.
    const later = await call('PATCH', `/api/admin/products/${product.id}`, {
      token,
      body: { name: 'renamed' },
    });
    expect(later.body).toMatchObject({ name: 'renamed', max_per_order: 10, sale: { paused: false } });
    expect(await audit(product.id)).toMatchObject({ stock_total: 3, available: 1, ok: true });
  });

  it('a refused stock_delta whose PATCH another one followed at once: its settings stand, and the 409 says so', async () => {
    const product = await newProduct({ stock_total: 3 });
    await reservedUnsent(product.id, 2);
    const deps = { inventory: inventory(), products: products(), log: domainLog };
    const followed = Object.assign(Object.create(inventory()), {
      async adjustStock(product_id: number, a: Parameters<ReturnType<typeof inventory>['adjustStock']>[1]) {
        // Another PATCH commits (and writes the whole row, paused included, to Redis) in between.
        await updateProduct(deps, product_id, { name: 'other admin' });
        return inventory().adjustStock(product_id, a);
      },
    });
    const r = await updateProduct({ ...deps, inventory: followed }, product.id, {
      paused: true,
      stock_delta: -2,
    });
    expect(r).toEqual({ kind: 'stock_would_go_negative', available: 1, settings_kept: true });
    const view = await call('GET', `/api/products/${product.id}`);
    expect(view.body).toMatchObject({
      name: 'other admin',
      stock_total: 3,
      available: 1,
      sale: { paused: true },
    });
  });

  it('a PATCH answered 503 "nothing was changed" (the state went missing before its delta) leaves its other fields as they were', async () => {
    const product = await newProduct({ stock_total: 10 });
    const missingAtAdjust = Object.assign(Object.create(inventory()), {
      adjustStock: async () => ({ kind: 'missing' as const }),
    });
    const r = await updateProduct(
      { inventory: missingAtAdjust, products: products(), log: domainLog },
      product.id,
      { paused: true, per_customer_limit: 1, stock_delta: 5 },
    );
    expect(r).toEqual({ kind: 'unavailable', saved: false });
    const [row] = await sql<{ paused: boolean; per_customer_limit: number | null; stock_total: number }[]>`
      SELECT paused, per_customer_limit, stock_total FROM products WHERE id = ${product.id}`;
    expect(row).toEqual({ paused: false, per_customer_limit: null, stock_total: 10 });
    await releaseRun();
    const view = await call('GET', `/api/products/${product.id}`);
    expect(view.body).toMatchObject({ stock_total: 10, per_customer_limit: null, sale: { paused: false } });
  });

  it('a stock_delta past the stock cap is a 400 naming the field, and changes nothing', async () => {
    // Before: each PATCH within ±10^8 was taken, stock_total grew past what a create accepts, and
    // the one that overflowed PostgreSQL's integer answered 500.
    const product = await newProduct({ stock_total: 99_999_990 });
    const token = await adminToken();
    const patch = (stock_delta: number) =>
      call('PATCH', `/api/admin/products/${product.id}`, { token, body: { stock_delta } });
    const refused = await patch(11);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      type: 'https://flash-sale.dev/problems/invalid-request',
      errors: [{ field: 'stock_delta', message: 'would take stock_total above 100000000' }],
    });
    expect(await pgStockTotal(product.id)).toBe(99_999_990);
    expect(await redisState(product.id)).toEqual({ stock_total: 99_999_990, available: 99_999_990 });
    const [n] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM stock_adjustments WHERE product_id = ${product.id}`;
    expect(n!.n).toBe(0);
    expect((await patch(10)).status).toBe(200); // up to the cap itself
    expect(await pgStockTotal(product.id)).toBe(100_000_000);
    expect(await audit(product.id)).toMatchObject({ stock_total: 100_000_000, ok: true });
  });

  it('a pending delta Redis refuses is taken back by the release run; a refusal stays final', async () => {
    const product = await newProduct({ stock_total: 3 });
    await reservedUnsent(product.id, 2);
    const adjustment = await pendingAdjustment(product.id, -2);
    expect(await pgStockTotal(product.id)).toBe(1);
    await releaseRun();
    expect(await fate(adjustment.id)).toEqual({ applied: false, refused: true });
    expect(await pgStockTotal(product.id)).toBe(3);
    // More stock arrives: the refused id is still refused, never applied late.
    const more = await pendingAdjustment(product.id, 5);
    await releaseRun();
    expect(await fate(more.id)).toEqual({ applied: true, refused: false });
    expect(await inventory().adjustStock(product.id, adjustment)).toMatchObject({ kind: 'refused' });
    expect(await redisState(product.id)).toEqual({ stock_total: 8, available: 6 });
    expect(await pgStockTotal(product.id)).toBe(8);
  });

  it('the admin PATCH keeps its contract (409 with available, 200 with the new totals)', async () => {
    const product = await newProduct({ stock_total: 3 });
    const token = await adminToken();
    // Beyond stock_total (refused before any write) and beyond available (refused by Redis).
    const tooMuch = await call('PATCH', `/api/admin/products/${product.id}`, {
      token,
      body: { stock_delta: -4 },
    });
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body).toMatchObject({ available: 3 });
    await reservedUnsent(product.id, 1);
    const beyond = await call('PATCH', `/api/admin/products/${product.id}`, {
      token,
      body: { stock_delta: -3 },
    });
    expect(beyond.status).toBe(409);
    expect(beyond.body).toMatchObject({ available: 2 });
    const ok = await call('PATCH', `/api/admin/products/${product.id}`, { token, body: { stock_delta: 2 } });
    expect(ok.body).toMatchObject({ stock_total: 5, available: 4 });
    expect(await pgStockTotal(product.id)).toBe(5);
  });

  describe('a PATCH whose Redis call fails (503: retry) never changes stock later behind the retry', () => {
    /** The PATCH as the handler runs it, with Redis failing around the adjust-stock call. */
    const patchWithRedisFailing = (id: number, stock_delta: number, failing: 'before' | 'after') =>
      updateProduct(
        {
          products: products(),
          log: domainLog,
          inventory: Object.assign(Object.create(inventory()), {
            async adjustStock(
              product_id: number,
              a: Parameters<ReturnType<typeof inventory>['adjustStock']>[1],
            ) {
              // 'after': Redis ran the script and the reply was lost on the wire.
              if (failing === 'after') await inventory().adjustStock(product_id, a);
              throw new Error('Connection is closed.');
            },
          }),
        },
        id,
        { stock_delta },
      );

    it('not reached: the release run refuses it, and the retry is the only change', async () => {
      const product = await newProduct({ stock_total: 100 });
      await expect(patchWithRedisFailing(product.id, 50, 'before')).rejects.toThrow(/closed/);
      // Before this fix the release run applied it: +50, and the retry made it +100.
      expect((await releaseRun()).adjustments_settled).toBe(1);
      expect(await redisState(product.id)).toEqual({ stock_total: 100, available: 100 });
      expect(await pgStockTotal(product.id)).toBe(100);
      const retry = await call('PATCH', `/api/admin/products/${product.id}`, {
        token: await adminToken(),
        body: { stock_delta: 50 },
      });
      expect(retry.body).toMatchObject({ stock_total: 150, available: 150 });
      await releaseRun();
      expect(await pgStockTotal(product.id)).toBe(150);
      expect(await audit(product.id)).toMatchObject({ stock_total: 150, available: 150, ok: true });
    });

    it('Redis decided but PostgreSQL failed to record it: the PATCH answers the decision, the run records it', async () => {
      const product = await newProduct({ stock_total: 100 });
      const failingOnce = Object.assign(Object.create(products()), {
        settleAdjustment: () => Promise.reject(new Error('CONNECTION_CLOSED')),
      });
      const warnings: [string, Record<string, unknown> | undefined][] = [];
      const log = {
        ...domainLog,
        warn: (msg: string, extra?: Record<string, unknown>) => warnings.push([msg, extra]),
      };
      const r = await updateProduct({ products: failingOnce, inventory: inventory(), log }, product.id, {
        stock_delta: 20,
      });
      // Not a 503: the change stands in Redis, and a retry would be a second one.
      expect(r).toMatchObject({ kind: 'updated', snapshot: { available: 120 } });
      // ...and the failure is logged, not swallowed.
      expect(warnings).toEqual([
        [
          expect.stringMatching(/not yet recorded/),
          expect.objectContaining({ product_id: product.id, decided: 'applied', error: 'CONNECTION_CLOSED' }),
        ],
      ]);
      expect((await releaseRun()).adjustments_settled).toBe(1);
      expect(await pgStockTotal(product.id)).toBe(120);
      expect(await audit(product.id)).toMatchObject({ stock_total: 120, available: 120, ok: true });
    });

    it('applied before the reply was lost: the release run records it applied, both stores agree', async () => {
      const product = await newProduct({ stock_total: 100 });
      await expect(patchWithRedisFailing(product.id, -30, 'after')).rejects.toThrow(/closed/);
      expect((await releaseRun()).adjustments_settled).toBe(1);
      expect(await redisState(product.id)).toEqual({ stock_total: 70, available: 70 });
      expect(await pgStockTotal(product.id)).toBe(70);
      expect(await audit(product.id)).toMatchObject({ stock_total: 70, available: 70, ok: true });
    });
  });
});

describe('stock_delta under an Idempotency-Key (an operator retrying after a timeout or a 5xx)', () => {
  const patch = async (id: number, body: Record<string, unknown>, key?: string) =>
    call('PATCH', `/api/admin/products/${id}`, {
      token: await adminToken(),
      body,
      ...(key === undefined ? {} : { headers: { 'Idempotency-Key': key } }),
    });
  const replayed = (r: { headers: Headers }) => r.headers.get('idempotent-replayed');

  it('a PATCH {stock_delta: 5} sent twice under one key changes stock_total once; the repeat is a replay of the product as it is now', async () => {
    const product = await newProduct({ stock_total: 10 });
    const key = `restock-${randomUUID()}`;
    const first = await patch(product.id, { stock_delta: 5 }, key);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ stock_total: 15, available: 15 });
    expect(replayed(first)).toBeNull();
    await reservedUnsent(product.id, 2);
    const again = await patch(product.id, { stock_delta: 5 }, key);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ stock_total: 15, available: 13 });
    expect(replayed(again)).toBe('true');
    await releaseRun();
    expect(await pgStockTotal(product.id)).toBe(15);
    expect(await audit(product.id)).toMatchObject({ stock_total: 15, available: 13, ok: true });
  });

  it('another body under the same key is 422 idempotency-key-reused and changes nothing', async () => {
    const product = await newProduct({ stock_total: 10 });
    const key = `restock-${randomUUID()}`;
    expect((await patch(product.id, { stock_delta: 5 }, key)).status).toBe(200);
    for (const body of [{ stock_delta: 6 }, { stock_delta: 5, paused: true }, { paused: true }]) {
      const r = await patch(product.id, body, key);
      expect(r.status).toBe(422);
      expect(r.body).toMatchObject({ type: 'https://flash-sale.dev/problems/idempotency-key-reused' });
    }
    const view = await call('GET', `/api/products/${product.id}`);
    expect(view.body).toMatchObject({ stock_total: 15, available: 15, sale: { paused: false } });
    expect(await pgStockTotal(product.id)).toBe(15);
    // The same key on another product is its own.
    const other = await newProduct({ stock_total: 10 });
    expect((await patch(other.id, { stock_delta: 6 }, key)).body).toMatchObject({ stock_total: 16 });
  });

  it('without a key the same PATCH sent twice still applies twice', async () => {
    const product = await newProduct({ stock_total: 10 });
    expect((await patch(product.id, { stock_delta: 5 })).body).toMatchObject({ stock_total: 15 });
    const again = await patch(product.id, { stock_delta: 5 });
    expect(again.body).toMatchObject({ stock_total: 20, available: 20 });
    expect(replayed(again)).toBeNull();
    expect(await pgStockTotal(product.id)).toBe(20);
  });

  it('a keyed PATCH whose Lambda died after PostgreSQL recorded it: the retry finishes it once, the release run finds nothing left', async () => {
    const product = await newProduct({ stock_total: 5 });
    const key = `restock-${randomUUID()}`;
    await pendingAdjustment(product.id, 3, { key, request: canonicalRequest({ stock_delta: 3 }) });
    const retry = await patch(product.id, { stock_delta: 3 }, key);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ stock_total: 8, available: 8 });
    expect(replayed(retry)).toBe('true');
    expect((await releaseRun()).adjustments_settled).toBe(0);
    expect(await pgStockTotal(product.id)).toBe(8);
    expect(await audit(product.id)).toMatchObject({ stock_total: 8, available: 8, ok: true });
  });

  it('a keyed PATCH answered 503 after Redis applied it (reply lost): the retry applies nothing again', async () => {
    const product = await newProduct({ stock_total: 100 });
    const key = `restock-${randomUUID()}`;
    const replyLost = Object.assign(Object.create(inventory()), {
      async adjustStock(product_id: number, a: Parameters<ReturnType<typeof inventory>['adjustStock']>[1]) {
        await inventory().adjustStock(product_id, a);
        throw new Error('Connection is closed.');
      },
    });
    await expect(
      updateProduct(
        { products: products(), inventory: replyLost, log: domainLog },
        product.id,
        { stock_delta: -30 },
        key,
      ),
    ).rejects.toThrow(/closed/);
    const retry = await patch(product.id, { stock_delta: -30 }, key);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ stock_total: 70, available: 70 });
    await releaseRun();
    expect(await pgStockTotal(product.id)).toBe(70);
    expect(await audit(product.id)).toMatchObject({ stock_total: 70, available: 70, ok: true });
  });

  it('a refused keyed PATCH (409) changed nothing: its repeat is handled again, and applies once stock allows it', async () => {
    const product = await newProduct({ stock_total: 3 });
    await reservedUnsent(product.id, 2);
    const key = `remove-${randomUUID()}`;
    expect((await patch(product.id, { stock_delta: -2 }, key)).status).toBe(409);
    expect((await patch(product.id, { stock_delta: -2 }, key)).status).toBe(409);
    expect((await patch(product.id, { stock_delta: 5 })).status).toBe(200);
    const third = await patch(product.id, { stock_delta: -2 }, key);
    expect(third.status).toBe(200);
    expect(third.body).toMatchObject({ stock_total: 6, available: 4 });
    expect(replayed(third)).toBeNull();
    const fourth = await patch(product.id, { stock_delta: -2 }, key);
    expect(fourth.body).toMatchObject({ stock_total: 6, available: 4 });
    expect(replayed(fourth)).toBe('true');
    expect(await audit(product.id)).toMatchObject({ stock_total: 6, available: 4, ok: true });
  });

  it('an Idempotency-Key that is not 1-255 printable ASCII is a 400 naming the header, and changes nothing', async () => {
    const product = await newProduct({ stock_total: 10 });
    const r = await patch(product.id, { stock_delta: 5 }, 'x'.repeat(256));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ errors: [{ field: 'Idempotency-Key' }] });
    expect(await pgStockTotal(product.id)).toBe(10);
  });
});
