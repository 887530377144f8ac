// Pins down the settle use cases (lib/sale/settle-payment.ts, cancel-order.ts, expire-orders.ts,
// release-units.ts) on port-level fakes (tests/unit/fakes/settlement.ts): the decisions of API.md's
// status table, a late success after expiry, a rollback when the inventory cannot decide, and — as
// fast-check properties — any interleaving of pay/fail/cancel/expire/re-release on one order, or of
// batched expiries with payments and cancels on many, gives units back at most once per order and
// ends each order in one status with its units accounted for. The adapters and the guarantees
// against real services: tests/integration/races.test.ts, property.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEarlyCancels, cancelOrder } from '../../lib/sale/cancel-order';
import { expireOverdue } from '../../lib/sale/expire-orders';
import { newOrderId } from '../../lib/sale/order-id';
import { HOLDING, type PaymentEvent } from '../../lib/sale/order-rules';
import { releaseNow } from '../../lib/sale/release-units';
import { applyPendingPayments, handlePayment } from '../../lib/sale/settle-payment';
import { order, SettleWorld, ticketOf } from './fakes/settlement';

let ids = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`;

type O = ReturnType<typeof order>;
const pay = (o: O, webhook_id = uuid()): PaymentEvent => ({
  webhook_id,
  type: 'payment.succeeded',
  order_id: o.order_id,
  amount_cents: o.amount_cents,
  currency: o.currency,
  payment_id: `p-${webhook_id}`,
});
const fail = (o: O): PaymentEvent => ({ ...pay(o), type: 'payment.failed' });

/** Units are conserved: what Redis has free plus what holding orders keep is the stock. */
function unitsAccounted(w: SettleWorld): boolean {
  let held = 0;
  for (const o of w.state.orders.values()) if (HOLDING.has(o.status)) held += o.qty;
  return w.available + held === w.stock_total;
}

describe('payments', () => {
  it('a success pays a reserved order; the same webhook again is a duplicate; a failure after it is ignored', async () => {
    const w = new SettleWorld(5);
    const o = order(uuid(), 2);
    w.addReserved(o);
    const e = pay(o);
    expect(await handlePayment(w.deps(), e)).toEqual({ result: 'applied', status: 'paid' });
    expect(await handlePayment(w.deps(), e)).toEqual({ result: 'duplicate' });
    expect(await handlePayment(w.deps(), fail(o))).toMatchObject({ result: 'ignored', status: 'paid' });
    expect(w.available).toBe(3);
    expect(w.give_backs.size).toBe(0);
  });

  it('a failure gives the units back once and stamps the release marker', async () => {
    const w = new SettleWorld(5);
    const o = order(uuid(), 2);
    w.addReserved(o);
    expect(await handlePayment(w.deps(), fail(o))).toEqual({
      result: 'applied',
      status: 'payment_failed',
    });
    expect(w.available).toBe(5);
    expect(w.state.markers.get(o.order_id)?.applied).toBe(true);
  });

  it('a failure for another amount or currency is ignored and keeps the units held (API.md: either type)', async () => {
    const w = new SettleWorld(5);
    const o = order(uuid(), 2);
    w.addReserved(o);
    for (const e of [
      { ...fail(o), amount_cents: 1 },
      { ...fail(o), currency: 'USD' },
    ]) {
      const r = await handlePayment(w.deps(), e);
      expect(r).toMatchObject({ result: 'ignored', status: 'reserved' });
      expect((r as { reason: string }).reason).toMatch(/mismatch/);
    }
    expect(w.available).toBe(3);
    expect(await handlePayment(w.deps(), fail(o))).toEqual({ result: 'applied', status: 'payment_failed' });
  });

  it('an event before its order is stored pending, then applied once the order exists', async () => {
    const w = new SettleWorld(5);
    const o = order(uuid());
    expect(await handlePayment(w.deps(), pay(o))).toEqual({ result: 'pending' });
    w.addReserved(o);
    const applied = await applyPendingPayments(w.deps(), [o.order_id]);
    expect(applied.map((a) => a.result)).toEqual([{ result: 'applied', status: 'paid' }]);
    expect(await applyPendingPayments(w.deps(), [o.order_id])).toEqual([]);
  });

  it('an event arriving once the row exists never overtakes one stored pending before it', async () => {
    const w = new SettleWorld(5);
    const o = order(uuid(), 2);
    // The success came before the order was in PostgreSQL; the provider's stale decline comes after
    // the row was written, before persistOrders applied the waiting success.
    expect(await handlePayment(w.deps(), pay(o))).toEqual({ result: 'pending' });
    w.addReserved(o);
    expect(await handlePayment(w.deps(), fail(o))).toMatchObject({ result: 'ignored', status: 'paid' });
    expect(w.state.orders.get(o.order_id)?.status).toBe('paid');
    expect(await applyPendingPayments(w.deps(), [o.order_id])).toEqual([]);
    expect(w.give_backs.size).toBe(0);
    expect(unitsAccounted(w)).toBe(true);
  });

  it('a late success after expiry re-takes free units (paid) or, if they are gone, ends refund_required', async () => {
    const w = new SettleWorld(1);
    const a = order(uuid());
    w.addReserved(a);
    expect(await expireOverdue(w.deps(), 10)).toBe(1);
    expect(await handlePayment(w.deps(), pay(a))).toEqual({ result: 'applied', status: 'paid' });
    expect(w.available).toBe(0);

    const w2 = new SettleWorld(1);
    const b = order(uuid());
    w2.addReserved(b);
    await expireOverdue(w2.deps(), 10);
    w2.addReserved(order(uuid())); // someone else bought the freed unit
    expect(await handlePayment(w2.deps(), pay(b))).toEqual({
      result: 'applied',
      status: 'refund_required',
    });
    expect(unitsAccounted(w2)).toBe(true);
  });

  it('a late success while the product is being rebuilt stores nothing (rolled back) and answers unavailable', async () => {
    const w = new SettleWorld(1);
    const o = order(uuid());
    w.addReserved(o);
    await expireOverdue(w.deps(), 10);
    w.complete = false;
    const e = pay(o);
    expect(await handlePayment(w.deps(), e)).toEqual({ result: 'unavailable', product_id: o.product_id });
    expect(w.state.events.has(e.webhook_id)).toBe(false);
    expect(w.status(o.order_id)).toBe('expired');
    w.complete = true;
    expect(await handlePayment(w.deps(), e)).toEqual({ result: 'applied', status: 'paid' });
  });
});

describe('cancel and expiry', () => {
  it("a customer cancels a reserved order once; someone else's order is not found", async () => {
    const w = new SettleWorld(3);
    const o = order(uuid(), 3);
    w.addReserved(o);
    expect(await cancelOrder(w.deps(), o.order_id, { customer_id: 'someone', admin: false })).toEqual({
      kind: 'not_found',
    });
    const r = await cancelOrder(w.deps(), o.order_id, { customer_id: o.customer_id, admin: false });
    expect(r.kind).toBe('cancelled');
    const again = await cancelOrder(w.deps(), o.order_id, { customer_id: o.customer_id, admin: false });
    expect(again).toEqual({ kind: 'not_cancellable', status: 'cancelled' });
    expect(w.available).toBe(3);
  });

  it('a cancel before persistence is recorded durably, applied once when the order is persisted, even with the Redis flag gone', async () => {
    const w = new SettleWorld(3);
    const o = order(newOrderId(1), 2);
    w.addAccepted(o);
    const owner = { customer_id: o.customer_id, admin: false };
    expect(await cancelOrder(w.deps(), o.order_id, { customer_id: 'someone', admin: false })).toEqual({
      kind: 'not_found',
    });
    expect(w.state.cancels.size).toBe(0);
    expect((await cancelOrder(w.deps(), o.order_id, owner)).kind).toBe('pending');
    expect((await cancelOrder(w.deps(), o.order_id, owner)).kind).toBe('pending'); // a retry: harmless
    expect(w.state.cancels.get(o.order_id)).toEqual({ customer_id: o.customer_id, applied: false });
    w.flagged.clear(); // Redis lost the order's record: only PostgreSQL remembers the cancel
    w.insertAccepted(o.order_id);
    expect(await applyEarlyCancels(w.deps(), [o.order_id])).toBe(1);
    expect(w.status(o.order_id)).toBe('cancelled');
    expect(await applyEarlyCancels(w.deps(), [o.order_id], [o.order_id])).toBe(0); // a duplicate delivery
    expect(w.state.cancels.get(o.order_id)?.applied).toBe(true);
    expect(await handlePayment(w.deps(), pay(o))).toEqual({ result: 'applied', status: 'refund_required' });
    expect([w.available, w.give_backs.get(o.order_id)]).toEqual([3, 1]);
  });

  it('a cancel whose order was persisted while it waited for the lock cancels the row at once', async () => {
    const w = new SettleWorld(2);
    const o = order(newOrderId(1), 1);
    w.addAccepted(o);
    const withRow = {
      ...w.deps(),
      settlement: {
        ...w.settlement,
        // persistOrders commits between the Redis read and the lock
        withOrderLocked: <T>(id: string, work: Parameters<typeof w.settlement.withOrderLocked<T>>[1]) => {
          if (w.outbox.has(id)) w.insertAccepted(id);
          return w.settlement.withOrderLocked(id, work);
        },
      },
    };
    const r = await cancelOrder(withRow, o.order_id, { customer_id: o.customer_id, admin: false });
    expect(r.kind).toBe('cancelled');
    expect(w.state.cancels.size).toBe(0);
    expect([w.available, w.give_backs.get(o.order_id)]).toEqual([2, 1]);
  });

  it('PostgreSQL failing when the cancel is recorded: the error reaches the caller, nothing is flagged or recorded', async () => {
    const w = new SettleWorld(2);
    const o = order(newOrderId(1), 1);
    w.addAccepted(o);
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const deps = {
      ...w.deps(),
      settlement: { ...w.settlement, withOrderLocked: () => Promise.reject(down) },
    };
    await expect(cancelOrder(deps, o.order_id, { customer_id: o.customer_id, admin: false })).rejects.toBe(
      down,
    );
    expect([w.flagged.size, w.state.cancels.size]).toEqual([0, 0]);
  });

  it('a deferred release (product being rebuilt) leaves the marker unstamped for the release run', async () => {
    const w = new SettleWorld(2);
    const o = order(uuid(), 2);
    w.addReserved(o);
    w.complete = false;
    expect(await expireOverdue(w.deps(), 10)).toBe(1);
    expect(w.state.markers.get(o.order_id)?.applied).toBe(false);
    w.complete = true;
    await releaseNow(w.deps(), await w.ledger.unappliedReleases(0, 10));
    expect(w.available).toBe(2);
  });
});

/** One settle step as a use case runs it. */
type Step = 'pay' | 'pay_again' | 'fail' | 'cancel' | 'expire' | 're_release';

function runStep(w: SettleWorld, o: ReturnType<typeof order>, step: Step, replay: PaymentEvent) {
  const d = w.deps();
  switch (step) {
    case 'pay':
      return handlePayment(d, pay(o));
    case 'pay_again':
      return handlePayment(d, replay);
    case 'fail':
      return handlePayment(d, fail(o));
    case 'cancel':
      return cancelOrder(d, o.order_id, { customer_id: o.customer_id, admin: false });
    case 'expire':
      return expireOverdue(d, 10);
    case 're_release':
      // the release run finishing releases (a crash between commit and release, re-applied)
      return w.ledger.unappliedReleases(0, 10).then((t) => releaseNow(d, t));
  }
}

const steps = fc.array(fc.constantFrom<Step>('pay', 'pay_again', 'fail', 'cancel', 'expire', 're_release'), {
  minLength: 1,
  maxLength: 8,
});

describe('properties', () => {
  it('any interleaving of pay/fail/cancel/expire on one order releases its units at most once and ends in one status', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), steps, fc.integer({ min: 1, max: 3 }), async (s, plan, qty) => {
        const w = new SettleWorld(5);
        const o = order(uuid(), qty);
        w.addReserved(o);
        const replay = pay(o);
        w.pause = () => s.schedule(Promise.resolve());
        await s.waitFor(Promise.all(plan.map((step) => runStep(w, o, step, replay))));
        w.pause = async () => {};
        // finish what a crash or a deferral may leave, as the release run does
        await releaseNow(w.deps(), await w.ledger.unappliedReleases(0, 10));
        const fromReserved = w.state.transitions.filter((t) => t.from === 'reserved');
        expect(fromReserved.length).toBeLessThanOrEqual(1);
        expect(w.give_backs.get(o.order_id) ?? 0).toBeLessThanOrEqual(1);
        expect(unitsAccounted(w)).toBe(true);
        // a success ever applied means the customer paid: paid, or refund_required if units were gone
        const status = w.status(o.order_id)!;
        if (status === 'reserved') expect(plan.some((p) => p === 'expire')).toBe(false);
        expect([...w.state.markers.values()].every((m) => m.applied)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('batched expiry racing payments and cancels on many orders: each order leaves reserved once, units back at most once', async () => {
    const orderPlan = fc.array(fc.constantFrom<Step>('pay', 'fail', 'cancel', 'expire'), {
      minLength: 2,
      maxLength: 6,
    });
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), orderPlan, fc.integer({ min: 1, max: 3 }), async (s, plan, runs) => {
        const w = new SettleWorld(20);
        const orders = plan.map(() => order(uuid(), 2));
        for (const o of orders) w.addReserved(o);
        // one order is already expired and released before the batch sees it
        const first = orders[0]!;
        await w.settlement.withOrderLocked(first.order_id, (l) =>
          l.transition(['reserved'], 'expired', 'test', 'already expired'),
        );
        await releaseNow(w.deps(), [ticketOf(first)]);
        w.pause = () => s.schedule(Promise.resolve());
        const racing = [
          ...plan.map((step, i) => runStep(w, orders[i]!, step, pay(orders[i]!))),
          ...Array.from({ length: runs }, () => expireOverdue(w.deps(), 100)),
          // the batch also carries the already released order again
          releaseNow(w.deps(), [ticketOf(first)]),
        ];
        await s.waitFor(Promise.all(racing));
        w.pause = async () => {};
        await releaseNow(w.deps(), await w.ledger.unappliedReleases(0, 100));
        for (const o of orders) {
          const left = w.state.transitions.filter((t) => t.order_id === o.order_id && t.from === 'reserved');
          expect(left.length).toBe(1); // everything ends up out of reserved: paid, failed, cancelled or expired
          expect(w.give_backs.get(o.order_id) ?? 0).toBeLessThanOrEqual(1);
        }
        expect(unitsAccounted(w)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
