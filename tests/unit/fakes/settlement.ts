// Port-level fakes for the settle use cases (lib/sale/settle-payment.ts, cancel-order.ts,
// expire-orders.ts): one in-memory world playing PostgreSQL's order row, events and release
// markers, and Redis's counters and `released` hash, with the same rules as the real adapters
// (a unit of work holds the order's lock and rolls back on a throw; release is exactly-once per
// order; retake follows lua/retake.lua). Only for pure domain logic: the adapters themselves are
// tested against the real services (tests/integration).
import type { PaymentEvent } from '../../../lib/sale/order-rules';
import type {
  BulkExpiry,
  LockedOrder,
  OrderLocks,
  OrderStore,
  OutboxInventory,
  ReleaseLedger,
  ReleaseOutcome,
  ReleaseTicket,
  RetakeOutcome,
  SettlementQueries,
  SettlingInventory,
} from '../../../lib/sale/ports';
import {
  type AcceptedOrder,
  acceptedFromOrder,
  type Order,
  type OrderStatus,
  orderFromAccepted,
} from '../../../lib/sale/types';

interface StoredEvent {
  event: PaymentEvent;
  status: 'pending' | 'applied' | 'ignored';
}

interface State {
  orders: Map<string, Order>;
  events: Map<string, StoredEvent>;
  /** stock_releases: ticket and whether Redis applied it (released_at) */
  markers: Map<string, { ticket: ReleaseTicket; applied: boolean }>;
  /** order_events: (order, from, to) */
  transitions: { order_id: string; from: OrderStatus; to: OrderStatus }[];
  /** order_cancel_requests: cancels recorded before persistence, and whether applied */
  cancels: Map<string, { customer_id: string; applied: boolean }>;
}

/** Yields to the test's scheduler (fast-check) at every port call, so calls interleave. */
export type Yield = () => Promise<void>;

export class SettleWorld {
  state: State = {
    orders: new Map(),
    events: new Map(),
    markers: new Map(),
    transitions: [],
    cancels: new Map(),
  };
  /** Redis's outbox: accepted orders not yet persisted, and the ones flagged cancel_pending */
  outbox = new Map<string, AcceptedOrder>();
  flagged = new Set<string>();
  stock_total: number;
  available: number;
  /** Redis's `released` hash */
  released = new Map<string, 'released' | 'held' | 'retaken'>();
  /** how many times each order's units were given back in Redis */
  give_backs = new Map<string, number>();
  /** false: the product's state is lost or being rebuilt (release deferred, retake unavailable) */
  complete = true;
  private locks = new Map<string, Promise<void>>();
  /** Awaited at every port call: a test's scheduler while calls race, else nothing. */
  pause: Yield = async () => {};

  constructor(stock_total: number) {
    this.stock_total = stock_total;
    this.available = stock_total;
  }

  /** An order persisted as reserved, its units taken. */
  addReserved(order: Order): void {
    this.state.orders.set(order.order_id, { ...order, status: 'reserved' });
    this.available -= order.qty;
  }

  /** An order accepted (its units taken) and still in the outbox: not a row yet. */
  addAccepted(order: Order): void {
    this.outbox.set(order.order_id, acceptedFromOrder(order));
    this.available -= order.qty;
  }

  /** persistOrders' insert: the accepted order becomes a reserved row (units already taken). */
  insertAccepted(order_id: string): void {
    const o = this.outbox.get(order_id);
    if (!o) throw new Error(`${order_id} is not in the outbox`);
    this.outbox.delete(order_id);
    this.state.orders.set(order_id, { ...orderFromAccepted(o), status: 'reserved' });
  }

  status(order_id: string): OrderStatus | undefined {
    return this.state.orders.get(order_id)?.status;
  }

  /** Serialises units of work per order id (the advisory lock and row lock of PostgreSQL). */
  private async locked<T>(order_id: string, work: () => Promise<T>): Promise<T> {
    const before = this.locks.get(order_id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    this.locks.set(
      order_id,
      before.then(() => mine),
    );
    await before;
    try {
      return await work();
    } finally {
      release();
    }
  }

  readonly settlement: OrderLocks & SettlementQueries & BulkExpiry = {
    withOrderLocked: async (order_id, work) => {
      await this.pause(); // before the lock: who gets it first is the scheduler's choice
      return this.locked(order_id, async () => {
        await this.pause();
        const snapshot = structuredClone(this.state);
        try {
          return await work(this.lockedOrder(order_id));
        } catch (err) {
          this.state = snapshot; // the transaction rolls back
          throw err;
        }
      });
    },
    pendingPayments: async (order_ids) => {
      await this.pause();
      return [...this.state.events.values()]
        .filter((e) => e.status === 'pending' && order_ids.includes(e.event.order_id))
        .map((e) => e.event);
    },
    successWaiting: async (order_ids) => {
      await this.pause();
      return order_ids.filter((id) => this.paymentWaiting(id));
    },
    strandedPaymentOrders: async () => {
      await this.pause();
      const ids = [...this.state.events.values()]
        .filter((e) => e.status === 'pending' && this.state.orders.has(e.event.order_id))
        .map((e) => e.event.order_id);
      return [...new Set(ids)];
    },
    requestedCancels: async (order_ids) => {
      await this.pause();
      return order_ids.filter((id) => this.state.cancels.get(id)?.applied === false);
    },
    strandedCancelOrders: async () => {
      await this.pause();
      return [...this.state.cancels]
        .filter(([id, c]) => !c.applied && this.state.orders.has(id))
        .map(([id]) => id);
    },
    orphanStalePayments: async () => 0,
    overdueReservations: async () => {
      await this.pause();
      return [...this.state.orders.values()]
        .filter((o) => o.status === 'reserved' && !this.paymentWaiting(o.order_id))
        .map((o) => o.order_id);
    },
    expireReserved: async (order_ids, actor, reason) => {
      await this.pause();
      const moved: ReleaseTicket[] = [];
      for (const order_id of [...order_ids].sort()) {
        await this.pause();
        await this.locked(order_id, async () => {
          if (this.paymentWaiting(order_id)) return; // as the store's statement: a success waits for it
          const t = await this.lockedOrder(order_id).transition(['reserved'], 'expired', actor, reason);
          if (!t) return;
          const ticket = ticketOf(t.order);
          this.state.markers.set(order_id, { ticket, applied: false });
          moved.push(ticket);
        });
      }
      return moved;
    },
  };

  /**
   * A successful payment stored pending for this persisted order, for its amount and currency (the
   * store's paymentWaiting: its expiry leaves the order alone).
   */
  private paymentWaiting(order_id: string): boolean {
    const o = this.state.orders.get(order_id);
    return [...this.state.events.values()].some(
      (e) =>
        e.status === 'pending' &&
        e.event.order_id === order_id &&
        e.event.type === 'payment.succeeded' &&
        o !== undefined &&
        e.event.amount_cents === o.amount_cents &&
        e.event.currency.toUpperCase() === o.currency,
    );
  }

  private lockedOrder(order_id: string): LockedOrder {
    const s = () => this.state;
    return {
      load: async () => {
        const o = s().orders.get(order_id);
        return o ? { ...o } : null;
      },
      recordPayment: async (event) => {
        if (s().events.has(event.webhook_id)) return false;
        s().events.set(event.webhook_id, { event, status: 'pending' });
        return true;
      },
      // a Map keeps insertion order: the order the events were received in
      pendingPayments: async () =>
        [...s().events.values()]
          .filter((e) => e.status === 'pending' && e.event.order_id === order_id)
          .map((e) => e.event),
      settlePayment: async (webhook_id, status) => {
        s().events.get(webhook_id)!.status = status;
      },
      transition: async (from, to) => {
        const o = s().orders.get(order_id);
        if (!o || !from.includes(o.status)) return null;
        const was = o.status;
        o.status = to;
        s().transitions.push({ order_id, from: was, to });
        return { order: { ...o }, from: was };
      },
      recordRelease: async (ticket) => {
        if (!s().markers.has(ticket.order_id)) s().markers.set(ticket.order_id, { ticket, applied: false });
      },
      releaseApplied: async () => s().markers.get(order_id)?.applied === true,
      releaseConsumed: async () => {
        const m = s().markers.get(order_id);
        if (m) m.applied = true;
      },
      recordCancelRequest: async (customer_id) => {
        if (!s().cancels.has(order_id)) s().cancels.set(order_id, { customer_id, applied: false });
      },
      cancelRequested: async () => s().cancels.get(order_id)?.applied === false,
      settleCancelRequest: async () => {
        const c = s().cancels.get(order_id);
        if (c) c.applied = true;
      },
    };
  }

  readonly ledger: Pick<
    ReleaseLedger,
    'markReleased' | 'unappliedReleases' | 'uncounted' | 'markReconciled'
  > = {
    // No rebuild happens in this world: nothing is ever a straggler.
    uncounted: async () => [],
    markReconciled: async () => {
      throw new Error('no straggler in this world');
    },
    markReleased: async (order_ids) => {
      await this.pause();
      for (const id of order_ids) {
        const m = this.state.markers.get(id);
        if (m) m.applied = true;
      }
    },
    unappliedReleases: async () => {
      await this.pause();
      return [...this.state.markers.values()].filter((m) => !m.applied).map((m) => m.ticket);
    },
  };

  readonly inventory: Pick<
    SettlingInventory,
    'releaseBatch' | 'retake' | 'reconcile' | 'claimReplay' | 'cancelFlagged'
  > &
    Pick<OutboxInventory, 'pendingOrder' | 'cancelPending' | 'beingRebuilt'> = {
    reconcile: async () => {
      throw new Error('no straggler in this world');
    },
    claimReplay: async () => {
      throw new Error('no straggler in this world');
    },
    releaseBatch: async (_product_id, tickets) => {
      await this.pause();
      if (!this.complete) return tickets.map((): ReleaseOutcome => 'deferred');
      return tickets.map((t): ReleaseOutcome => {
        if (this.released.has(t.order_id)) return 'already';
        this.released.set(t.order_id, 'released');
        this.available += t.qty;
        this.give_backs.set(t.order_id, (this.give_backs.get(t.order_id) ?? 0) + 1);
        return 'released';
      });
    },
    retake: async (t, released_in_pg): Promise<RetakeOutcome> => {
      await this.pause();
      if (!this.complete) return 'unavailable';
      const state = this.released.get(t.order_id) ?? (released_in_pg ? 'released' : undefined);
      if (!state) {
        this.released.set(t.order_id, 'held');
        return 'held';
      }
      if (state !== 'released') return 'held';
      if (this.available < t.qty) return 'insufficient';
      this.available -= t.qty;
      this.released.set(t.order_id, 'retaken');
      return 'retaken';
    },
    cancelFlagged: async (order_id) => {
      await this.pause();
      return this.flagged.has(order_id);
    },
    pendingOrder: async (order_id) => {
      await this.pause();
      const accepted = this.outbox.get(order_id);
      return accepted ? { accepted, cancel_pending: this.flagged.has(order_id) } : null;
    },
    cancelPending: async (order_id, _product_id, customer_id) => {
      await this.pause();
      const accepted = this.outbox.get(order_id);
      if (!accepted || accepted.customer_id !== customer_id) return { status: 'not_found' };
      this.flagged.add(order_id);
      return { status: 'flagged', accepted };
    },
    beingRebuilt: async () => !this.complete,
  };

  readonly orders: Pick<OrderStore, 'get'> = {
    get: async (order_id) => {
      await this.pause();
      const o = this.state.orders.get(order_id);
      return o ? { ...o } : null;
    },
  };

  readonly log = { info() {}, warn() {}, error() {} };

  /** Everything the settle use cases take, as one object (each takes the part it needs). */
  deps() {
    return {
      settlement: this.settlement,
      ledger: this.ledger,
      inventory: this.inventory,
      orders: this.orders,
      log: this.log,
    };
  }
}

export const ticketOf = (o: Order): ReleaseTicket => ({
  order_id: o.order_id,
  product_id: o.product_id,
  customer_id: o.customer_id,
  qty: o.qty,
});

export function order(order_id: string, qty = 1, product_id = 1): Order {
  const now = Date.now();
  return {
    order_id,
    product_id,
    customer_id: `c-${order_id}`,
    qty,
    unit_price_cents: 500,
    amount_cents: 500 * qty,
    currency: 'EUR',
    status: 'reserved',
    created_at: new Date(now),
    expires_at: new Date(now - 1000),
    paid_at: null,
    closed_at: null,
  };
}
