// Pins down exactly-once settlement under real concurrency: racing webhooks, cancels, expiry and
// release runs each end in one final state with units released at most once, the early-webhook
// interleaving (webhook between persist's insert and commit) cannot strand a payment, and an event
// arriving once the row exists is applied after the ones stored pending before it, never before.
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { persistOverdue } from '../../infra/local/overdue-orders';
import { inventory, orders as orderStore, settleDeps } from '../../lib/container';
import { db } from '../../lib/orders/db';
import { insertAccepted } from '../../lib/orders/orders';
import { pgSettlementStore } from '../../lib/orders/settlement-store';
import { auditProduct } from '../../lib/sale/audit';
import { cancelOrder } from '../../lib/sale/cancel-order';
import { expireOverdue } from '../../lib/sale/expire-orders';
import type { PaymentEvent } from '../../lib/sale/order-rules';
import { transitionOrder } from '../../lib/sale/order-transition';
import { persistAccepted } from '../../lib/sale/persist';
import { releaseNow } from '../../lib/sale/release-units';
import { handlePayment } from '../../lib/sale/settle-payment';
import { acceptedFromOrder } from '../../lib/sale/types';
import { audit, drained, newProduct } from '../helpers/api';
import { releaseRun, reserveUnsent } from '../helpers/domain';

const sql = postgres(process.env['DATABASE_URL']!, { max: 4 });
afterAll(() => sql.end());

const success = (order: { order_id: string; amount_cents: number }, id = randomUUID()): PaymentEvent => ({
  webhook_id: id,
  type: 'payment.succeeded',
  order_id: order.order_id,
  amount_cents: order.amount_cents,
  currency: 'EUR',
  payment_id: `p-${id}`,
});
const failure = (order: { order_id: string; amount_cents: number }): PaymentEvent => ({
  ...success(order),
  type: 'payment.failed',
});

/** Reserved, persisted and already past its expiry time. */
async function overdueOrder(product: any, customer = `c-${randomUUID()}`, qty = 1) {
  const order = await reserveUnsent(customer, product.id, qty);
  await persistOverdue([order]);
  return order;
}

async function transitionsFromReserved(order_id: string): Promise<number> {
  const [r] =
    await sql`SELECT count(*)::int AS n FROM order_events WHERE order_id = ${order_id} AND from_status = 'reserved'`;
  return r!['n'];
}

async function releases(order_id: string): Promise<number> {
  const [r] = await sql`SELECT count(*)::int AS n FROM stock_releases WHERE order_id = ${order_id}`;
  return r!['n'];
}

/**
 * persistOrders' insert of `order`, held open just before its commit (its rows written, its
 * advisory locks held) until `commit()`: the other side of an interleaving runs meanwhile.
 */
async function insertHeldOpen(order: Parameters<typeof acceptedFromOrder>[0]) {
  const { promise: gate, resolve: commit } = Promise.withResolvers<void>();
  const { promise: written, resolve: wrote } = Promise.withResolvers<void>();
  const done = insertAccepted(db(), [acceptedFromOrder(order)], {
    beforeCommit: async () => {
      wrote();
      await gate;
    },
  });
  await written;
  return { done, commit };
}

/**
 * An order cancelled before persistence (a recorded cancel, or the previous release's Redis flag
 * alone), persisted already overdue, and expired by the release run before anyone applied the cancel.
 */
async function cancelledThenExpired(tag: string, how: 'recorded' | 'flag-only') {
  const product = await newProduct({ stock_total: 2 });
  const customer = `${tag}-${randomUUID()}`;
  const order = await reserveUnsent(customer, product.id, 1);
  if (how === 'recorded') {
    const cancel = await cancelOrder(settleDeps(), order.order_id, { customer_id: customer, admin: false });
    expect(cancel.kind).toBe('pending');
  } else {
    expect((await inventory().cancelPending(order.order_id, product.id, customer)).status).toBe('flagged');
  }
  const accepted = { ...acceptedFromOrder(order), expires_ms: Date.now() - 1000 };
  await insertAccepted(db(), [accepted]); // persistOrders' commit (then it dies, or is merely slow)...
  await expireOverdue(settleDeps(), 100, [product.id]); // ...and the release run expires the order
  return { product, order, accepted };
}

/** Expired, cancelled, then the success made refund_required: units back once, audit ok. */
async function refundedAfterExpiry(product_id: number, order_id: string) {
  const moves = await sql`SELECT to_status FROM order_events WHERE order_id = ${order_id} ORDER BY id`;
  expect(moves.map((m) => m['to_status'])).toEqual(['reserved', 'expired', 'cancelled', 'refund_required']);
  expect(await releases(order_id)).toBe(1);
  expect(await audit(product_id)).toMatchObject({ available: 2, reserved: 0, paid: 0, ok: true });
}

/** The order's recorded cancel was applied exactly once: cancelled, one release, stamped, audit ok. */
async function earlyCancelAppliedOnce(product_id: number, order_id: string) {
  await persistAccepted(settleDeps(), [acceptedFromOrder((await orderStore().get(order_id))!)]); // a redelivery
  await releaseRun(); // its stranded step finds nothing left to apply
  const moves = await sql`SELECT to_status FROM order_events WHERE order_id = ${order_id} ORDER BY id`;
  expect(moves.map((m) => m['to_status'])).toEqual(['reserved', 'cancelled']);
  expect(await releases(order_id)).toBe(1);
  const [req] = await sql`SELECT applied_at FROM order_cancel_requests WHERE order_id = ${order_id}`;
  expect(req!['applied_at']).not.toBeNull();
  expect(await audit(product_id)).toMatchObject({ available: 2, reserved: 0, in_flight: 0, ok: true });
}

describe('races', () => {
  it('success webhook vs the release run at the same instant: one outcome, units consistent', async () => {
    for (let i = 0; i < 5; i++) {
      const product = await newProduct({ stock_total: 2 });
      const order = await overdueOrder(product);
      const [pay] = await Promise.all([handlePayment(settleDeps(), success(order)), releaseRun()]);
      expect(pay.result).toBe('applied');
      const [row] = await sql`SELECT status FROM orders WHERE order_id = ${order.order_id}`;
      // Either paid before expiry, or expired then re-taken by the late payment: paid either way.
      expect(row!['status']).toBe('paid');
      expect(await audit(product.id)).toMatchObject({ paid: 1, available: 1, reserved: 0, ok: true });
    }
  });

  it('failure webhook vs cancel vs expiry: exactly one wins, units back exactly once', async () => {
    for (let i = 0; i < 5; i++) {
      const product = await newProduct({ stock_total: 3 });
      const customer = `race-${randomUUID()}`;
      const order = await overdueOrder(product, customer, 2);
      await Promise.all([
        handlePayment(settleDeps(), failure(order)),
        cancelOrder(settleDeps(), order.order_id, { customer_id: customer, admin: false }),
        releaseRun(),
      ]);
      expect(await transitionsFromReserved(order.order_id)).toBe(1);
      expect(await releases(order.order_id)).toBe(1);
      await releaseRun(); // re-applying must not release again
      expect(await audit(product.id)).toMatchObject({ available: 3, reserved: 0, paid: 0, ok: true });
    }
  });

  it('two overlapping release runs expire each order once and release each once', async () => {
    const product = await newProduct({ stock_total: 40 });
    const orders = [];
    for (let i = 0; i < 20; i++) orders.push(await overdueOrder(product, `overlap-${i}-${product.id}`, 2));
    // (Other test files run release runs too; whoever expires an order, each must expire once.)
    await Promise.all([releaseRun(), releaseRun()]);
    const mine =
      await sql`SELECT count(*)::int AS n FROM orders WHERE product_id = ${product.id} AND status = 'expired'`;
    expect(mine[0]!['n']).toBe(20);
    for (const o of orders) expect(await transitionsFromReserved(o.order_id)).toBe(1);
    expect(await audit(product.id)).toMatchObject({ available: 40, reserved: 0, ok: true });
  });

  it('early webhook vs persist: a webhook between the insert and its commit is applied, not stranded', async () => {
    const product = await newProduct({ stock_total: 2 });
    const order = await reserveUnsent(`early-${randomUUID()}`, product.id, 1);
    const { promise: gate, resolve: openGate } = Promise.withResolvers<void>();
    const { promise: webhookStarted, resolve: webhookInTx } = Promise.withResolvers<void>();
    // The webhook finds no order and holds its transaction open before committing "pending".
    const settlement = pgSettlementStore(db(), {
      beforeCommit: async () => {
        webhookInTx();
        await gate;
      },
    });
    const webhook = handlePayment({ ...settleDeps(), settlement }, success(order));
    await webhookStarted;
    let persistDone = false;
    const persist = persistAccepted(settleDeps(), [acceptedFromOrder(order)]).then((r) => {
      persistDone = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 400));
    expect(persistDone).toBe(false); // persist waits for the webhook's lock on this order id
    openGate();
    expect((await webhook).result).toBe('pending');
    await persist;
    const [row] = await sql`SELECT status FROM orders WHERE order_id = ${order.order_id}`;
    expect(row!['status']).toBe('paid');
    expect(await drained(product.id)).toMatchObject({ paid: 1, ok: true });
  });

  it('early webhook vs persist, the other way round: a webhook during persist waits and applies', async () => {
    const product = await newProduct({ stock_total: 2 });
    const order = await reserveUnsent(`early2-${randomUUID()}`, product.id, 1);
    const { done: persist, commit: openGate } = await insertHeldOpen(order);
    let webhookDone = false;
    const webhook = handlePayment(settleDeps(), success(order)).then((r) => {
      webhookDone = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 400));
    expect(webhookDone).toBe(false);
    openGate();
    await persist;
    expect(await webhook).toMatchObject({ result: 'applied', status: 'paid' });
  });

  it('a decline arriving after the row is written never overtakes the success that came before it', async () => {
    const product = await newProduct({ stock_total: 2 });
    const order = await reserveUnsent(`early3-${randomUUID()}`, product.id, 2);
    // The success came first, before the order was in PostgreSQL: stored pending.
    expect((await handlePayment(settleDeps(), success(order))).result).toBe('pending');
    // The row is written; persistOrders has not applied the waiting success yet when the provider's
    // stale decline comes in (the sandbox's reordered delivery; seen in CI as payment_failed).
    await insertAccepted(db(), [acceptedFromOrder(order)]);
    expect(await handlePayment(settleDeps(), failure(order))).toMatchObject({
      result: 'ignored',
      status: 'paid',
    });
    const events = await sql`SELECT type, status FROM payment_events WHERE order_id = ${order.order_id}
      ORDER BY received_at`;
    expect(events.map((e) => `${e['type']}:${e['status']}`)).toEqual([
      'payment.succeeded:applied',
      'payment.failed:ignored',
    ]);
    const [row] = await sql`SELECT status FROM orders WHERE order_id = ${order.order_id}`;
    expect(row!['status']).toBe('paid');
  });

  it('a success received before its order expired, still pending when the row is written, is never pre-empted by expiry', async () => {
    // The backlog case: paid while the order was still in the outbox (stored pending, on time), the
    // order reaches PostgreSQL only after its expires_at, and the release run expires it between
    // persistOrders' commit and its applying of the waiting payment. Expiring it gives the units
    // away: the rival takes them, and the on-time payment ends refund_required.
    const product = await newProduct({ stock_total: 1 });
    const order = await reserveUnsent(`ontime-${randomUUID()}`, product.id, 1);
    expect((await handlePayment(settleDeps(), success(order))).result).toBe('pending');
    const expires_ms = Date.now() + 50; // after the payment was received
    await new Promise((r) => setTimeout(r, 200));
    const accepted = { ...acceptedFromOrder(order), expires_ms };
    await insertAccepted(db(), [accepted]); // persistOrders' commit...
    await expireOverdue(settleDeps(), 100, [product.id]); // ...the release run in between...
    const rival = await reserveUnsent(`rival-${randomUUID()}`, product.id, 1).catch(() => null);
    await persistAccepted(settleDeps(), [accepted]); // ...and the rest of persistOrders
    const [row] = await sql`SELECT status FROM orders WHERE order_id = ${order.order_id}`;
    expect(row!['status']).toBe('paid');
    const moves =
      await sql`SELECT to_status FROM order_events WHERE order_id = ${order.order_id} ORDER BY id`;
    expect(moves.map((m) => m['to_status'])).toEqual(['reserved', 'paid']);
    expect(rival).toBeNull(); // sold out: the paid order kept its unit
    expect(await audit(product.id)).toMatchObject({ paid: 1, reserved: 0, available: 0, ok: true });
  });

  it('a cancel accepted before persistence stands when a success lands between the insert and the cancel being applied', async () => {
    // cancel -> 202 cancel_pending; persistOrders commits the row; the success webhook finds it
    // `reserved` before persistOrders acks and applies the flagged cancel. The customer's cancel must
    // stand (as when both arrive before persistence): the webhook applies the recorded cancel first,
    // then the success meets a cancelled order: refund_required, units back once, recorded.
    const product = await newProduct({ stock_total: 2 });
    const customer = `flagged-${randomUUID()}`;
    const order = await reserveUnsent(customer, product.id, 1);
    const cancel = await cancelOrder(settleDeps(), order.order_id, { customer_id: customer, admin: false });
    expect(cancel.kind).toBe('pending');
    const accepted = acceptedFromOrder(order);
    await insertAccepted(db(), [accepted]); // persistOrders' commit...
    expect(await handlePayment(settleDeps(), success(order))).toMatchObject({
      result: 'applied',
      status: 'refund_required',
    }); // ...the webhook...
    await persistAccepted(settleDeps(), [accepted]); // ...then its ack, the cancel already applied
    const [row] = await sql`SELECT status FROM orders WHERE order_id = ${order.order_id}`;
    expect(row!['status']).toBe('refund_required');
    const moves =
      await sql`SELECT to_status, reason FROM order_events WHERE order_id = ${order.order_id} ORDER BY id`;
    expect(moves.map((m) => m['to_status'])).toEqual(['reserved', 'cancelled', 'refund_required']);
    expect(moves[2]!['reason']).toMatch(/cancel/);
    await persistAccepted(settleDeps(), [accepted]); // a duplicate delivery changes nothing
    await releaseRun();
    expect(await releases(order.order_id)).toBe(1);
    expect(await audit(product.id)).toMatchObject({ available: 2, reserved: 0, paid: 0, ok: true });
  });

  it('a cancel accepted before persistence stands when the order expires between the insert and the cancel being applied', async () => {
    // The same window, met by the release run: the order was persisted already overdue and expired
    // before the flagged cancel was applied. A late success must then find it cancelled
    // (refund_required), not take the units again for an order its customer cancelled.
    const { product, order, accepted } = await cancelledThenExpired('flagged-exp', 'recorded');
    await persistAccepted(settleDeps(), [accepted]); // ...then its ack and the flagged cancel
    expect(await handlePayment(settleDeps(), success(order))).toMatchObject({
      result: 'applied',
      status: 'refund_required',
    });
    await refundedAfterExpiry(product.id, order.order_id);
  });

  it('a cancel accepted before persistence stands when the order expires and a late success lands before the cancel is applied', async () => {
    // The same window with the success inside it: persisted overdue, persistOrders dies after its
    // commit (or is merely slower than the release run), the run expires the order, and the success
    // arrives before anyone applies the recorded cancel. It must find the customer's decision
    // (refund_required), not re-take the units: a paid order with an applied release cannot be
    // cancelled afterwards (its second release would be a no-op), so the cancel was lost for good.
    const { product, order, accepted } = await cancelledThenExpired('flagged-exp-pay', 'recorded');
    const paid = await handlePayment(settleDeps(), success(order)); // ...the success lands...
    await persistAccepted(settleDeps(), [accepted]); // ...then the redelivery applies the cancel
    await releaseRun();
    expect(paid).toEqual({ result: 'applied', status: 'refund_required' });
    const [req] =
      await sql`SELECT order_status FROM order_cancel_requests WHERE order_id = ${order.order_id}`;
    expect(req!['order_status']).toBe('cancelled');
    await refundedAfterExpiry(product.id, order.order_id);
  });

  it('a cancel only flagged in Redis (the previous release, during a deploy) stands when the order expires and a late success lands before the redelivery', async () => {
    // The previous release's cancel wrote only the Redis flag (no order_cancel_requests row): the
    // webhook cannot see it in PostgreSQL. persistOrders dies after its commit, the run expires the
    // order, a success arrives, and only then the redelivery's ack reports the flag. Re-taking the
    // units first made the order paid for good (a second release of it is a no-op in Redis).
    const { product, order, accepted } = await cancelledThenExpired('flag-only', 'flag-only');
    const paid = await handlePayment(settleDeps(), success(order)); // ...the success lands...
    await persistAccepted(settleDeps(), [accepted]); // ...then the redelivery: ack reports the flag
    await releaseRun();
    expect(paid).toEqual({ result: 'applied', status: 'refund_required' });
    await refundedAfterExpiry(product.id, order.order_id);
  });

  it('cancel before persistence vs persist: a cancel recording its request while the insert waits is applied once by persist', async () => {
    const product = await newProduct({ stock_total: 2 });
    const customer = `early-cancel-${randomUUID()}`;
    const order = await reserveUnsent(customer, product.id, 2);
    const { promise: gate, resolve: openGate } = Promise.withResolvers<void>();
    const { promise: recorded, resolve: cancelInTx } = Promise.withResolvers<void>();
    // The cancel finds no row, records its request and holds its transaction open before committing.
    const settlement = pgSettlementStore(db(), {
      beforeCommit: async () => {
        cancelInTx();
        await gate;
      },
    });
    const cancel = cancelOrder({ ...settleDeps(), settlement }, order.order_id, {
      customer_id: customer,
      admin: false,
    });
    await recorded;
    let persistDone = false;
    const persist = persistAccepted(settleDeps(), [acceptedFromOrder(order)]).then((r) => {
      persistDone = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 400));
    expect(persistDone).toBe(false); // the insert waits for the cancel's lock on this order id
    openGate();
    expect((await cancel).kind).toBe('pending');
    await persist;
    await earlyCancelAppliedOnce(product.id, order.order_id);
  });

  it('cancel before persistence vs persist, the other way round: a cancel during the insert waits and cancels the row', async () => {
    const product = await newProduct({ stock_total: 2 });
    const customer = `early-cancel2-${randomUUID()}`;
    const order = await reserveUnsent(customer, product.id, 2);
    const { done: insert, commit: openGate } = await insertHeldOpen(order);
    let cancelDone = false;
    const cancel = cancelOrder(settleDeps(), order.order_id, { customer_id: customer, admin: false }).then(
      (r) => {
        cancelDone = true;
        return r;
      },
    );
    await new Promise((r) => setTimeout(r, 400));
    expect(cancelDone).toBe(false); // waits for the insert's lock, then sees the committed row
    openGate();
    await insert;
    expect((await cancel).kind).toBe('cancelled');
    const requests = await sql`SELECT 1 FROM order_cancel_requests WHERE order_id = ${order.order_id}`;
    expect(requests.length, 'cancelled as a row: nothing left to apply').toBe(0);
    await persistAccepted(settleDeps(), [acceptedFromOrder(order)]); // the rest of persistOrders
    expect(await transitionsFromReserved(order.order_id)).toBe(1);
    expect(await releases(order.order_id)).toBe(1);
    expect(await audit(product.id)).toMatchObject({ available: 2, reserved: 0, in_flight: 0, ok: true });
  });

  it('a recorded cancel whose persistOrders died after its commit is applied by the release run, once', async () => {
    const product = await newProduct({ stock_total: 2 });
    const customer = `early-cancel3-${randomUUID()}`;
    const order = await reserveUnsent(customer, product.id, 2);
    const cancel = await cancelOrder(settleDeps(), order.order_id, { customer_id: customer, admin: false });
    expect(cancel.kind).toBe('pending');
    const accepted = acceptedFromOrder(order);
    await insertAccepted(db(), [accepted]); // persistOrders' commit and ack, then it dies
    await inventory().ack([accepted], new Set());
    const report = await releaseRun();
    expect(report.stranded_cancels_applied).toBe(1);
    await earlyCancelAppliedOnce(product.id, order.order_id);
  });

  it('a release committed in PostgreSQL but not applied in Redis is finished by the release run', async () => {
    const product = await newProduct({ stock_total: 2 });
    const order = await overdueOrder(product, `crash-${randomUUID()}`, 2);
    // Simulate a process that died after the commit: transition without the Redis release.
    const t = await transitionOrder(
      settleDeps().settlement,
      order.order_id,
      ['reserved'],
      'expired',
      'test',
      'crash sim',
    );
    expect(t?.release).not.toBeNull();
    expect((await audit(product.id)).available).toBe(0);
    await releaseRun();
    await releaseRun();
    expect(await audit(product.id)).toMatchObject({ available: 2, reserved: 0, ok: true });
  });

  for (const expiry of ['released', 'committed only'] as const) {
    it(`a late success whose unit of work dies after its Redis retake leaves no drift (expiry ${expiry})`, async () => {
      // The late payment re-takes the units in Redis inside its unit of work; the process dies before
      // the commit and the provider does not retry: PostgreSQL says expired (no units), Redis holds
      // them ("retaken" after an applied release, "held" when the expiry's release had not run).
      // Before: drift 1 for good, no release run fixed it. A retry that comes instead still pays.
      const product = await newProduct({ stock_total: 3 });
      const [dies, retried] = [await overdueOrder(product), await overdueOrder(product)];
      for (const o of [dies, retried]) {
        if (expiry === 'released') await expireOverdue(settleDeps(), 100, [product.id]);
        else
          await transitionOrder(
            settleDeps().settlement,
            o.order_id,
            ['reserved'],
            'expired',
            'test',
            'crash sim',
          );
      }
      const dying = pgSettlementStore(db(), {
        beforeCommit: async () => {
          throw new Error('process died before the commit');
        },
      });
      for (const o of [dies, retried]) {
        await expect(handlePayment({ ...settleDeps(), settlement: dying }, success(o))).rejects.toThrow(
          /died/,
        );
      }
      const retry = await handlePayment(settleDeps(), success(retried));
      expect(retry).toMatchObject({ result: 'applied', status: 'paid' });
      await releaseRun();
      await releaseRun();
      const rows =
        await sql`SELECT order_id, status FROM orders WHERE product_id = ${product.id} ORDER BY order_id`;
      const status = Object.fromEntries(rows.map((r) => [r['order_id'], r['status']]));
      expect([status[dies.order_id], status[retried.order_id]]).toEqual(['expired', 'paid']);
      expect(await audit(product.id)).toMatchObject({
        paid: 1,
        reserved: 0,
        available: 2,
        drift: 0,
        ok: true,
      });
      // the undone order can still be paid late, once, from the units given back
      expect(await handlePayment(settleDeps(), success(dies))).toMatchObject({
        result: 'applied',
        status: 'paid',
      });
      await releaseRun();
      expect(await audit(product.id)).toMatchObject({ paid: 2, available: 1, ok: true });
    });
  }

  it('batched expiry vs late payments, failures and cancels on the same orders: one winner each, units back once', async () => {
    for (let round = 0; round < 3; round++) {
      const product = await newProduct({ stock_total: 12 });
      const orders = [];
      for (let i = 0; i < 6; i++)
        orders.push(await overdueOrder(product, `batch-${round}-${i}-${randomUUID()}`, 2));
      const [a, b, c, d, e, f] = orders as [any, any, any, any, any, any];
      const results = await Promise.all([
        expireOverdue(settleDeps(), 2000), // one statement for the whole batch
        handlePayment(settleDeps(), success(a)),
        handlePayment(settleDeps(), success(b)),
        cancelOrder(settleDeps(), c.order_id, { customer_id: c.customer_id, admin: false }),
        cancelOrder(settleDeps(), d.order_id, { customer_id: d.customer_id, admin: false }),
        handlePayment(settleDeps(), failure(e)),
        releaseRun(), // a second, overlapping batch
      ]);
      expect(results[1]).toMatchObject({ result: 'applied', status: 'paid' });
      expect(results[2]).toMatchObject({ result: 'applied', status: 'paid' });
      for (const o of orders) {
        expect(await transitionsFromReserved(o.order_id)).toBe(1);
        expect(await releases(o.order_id)).toBeLessThanOrEqual(1);
      }
      const [row] = await sql`SELECT status FROM orders WHERE order_id = ${f.order_id}`;
      expect(row!['status']).toBe('expired');
      await releaseRun();
      // a and b paid (before expiry, or expired then re-taken): 4 units held, the rest back once
      expect(await audit(product.id)).toMatchObject({ paid: 4, reserved: 0, available: 8, ok: true });
    }
  });

  it('a release batch that carries orders already released gives each back once', async () => {
    const product = await newProduct({ stock_total: 6 });
    const orders = [];
    for (let i = 0; i < 3; i++) orders.push(await overdueOrder(product, `again-${i}-${randomUUID()}`, 2));
    expect((await audit(product.id)).available).toBe(0);
    await expireOverdue(settleDeps(), 2000);
    expect(await audit(product.id)).toMatchObject({ available: 6, reserved: 0, ok: true });
    const tickets = orders.map((o) => ({
      order_id: o.order_id,
      product_id: o.product_id,
      customer_id: o.customer_id,
      qty: o.qty,
    }));
    // the same orders again, one twice within the batch, in two concurrent batches
    await Promise.all([
      releaseNow(settleDeps(), [...tickets, tickets[0]!]),
      releaseNow(settleDeps(), tickets),
    ]);
    expect(await audit(product.id)).toMatchObject({ available: 6, reserved: 0, ok: true });
  });

  it('an audit that reads between an expiry commit and its release in Redis reports no drift', async () => {
    // The release run commits `expired` in PostgreSQL, then gives the units back in Redis. Hold it
    // between the two and audit: the first read meets the units still taken in Redis and no longer
    // reserved in PostgreSQL (drift 2); the release is let go, and done, after that Redis read.
    const product = await newProduct({ stock_total: 3 });
    await overdueOrder(product, `between-${randomUUID()}`, 2);
    const { promise: reachedRelease, resolve: atRelease } = Promise.withResolvers<void>();
    const { promise: gate, resolve: letGo } = Promise.withResolvers<void>();
    const real = settleDeps();
    const held = {
      ...real,
      inventory: {
        ...real.inventory,
        releaseBatch: async (...args: Parameters<typeof real.inventory.releaseBatch>) => {
          atRelease();
          await gate;
          return real.inventory.releaseBatch(...args);
        },
      },
    };
    const expiry = expireOverdue(held, 100, [product.id]);
    await reachedRelease;

    let reads = 0;
    const redis = inventory();
    const audited = auditProduct(
      {
        inventory: {
          ...redis,
          auditState: async (id) => {
            const state = await redis.auditState(id);
            if (++reads === 1) {
              // Read with the units still taken; the release finishes before PostgreSQL is read.
              letGo();
              await expiry;
            }
            return state;
          },
        },
        orders: orderStore(),
      },
      product.id,
    );
    expect(await expiry).toBe(1);
    expect(await audited).toMatchObject({ available: 3, reserved: 0, drift: 0, ok: true });
    expect(reads, 'the first read met the half-done expiry and was read again').toBeGreaterThan(1);
  });
});
