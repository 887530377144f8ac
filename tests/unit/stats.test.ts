// Pins down the dashboard figures (lib/sale/stats.ts) on in-memory ports: each product's audit,
// the order rate counting persisted and outbox-only orders once each, the newest-products limit,
// totals, and a queue endpoint that does not answer (backlog unknown, figures still there).
import { describe, expect, it } from 'vitest';
import { newOrderId, orderIdFloor } from '../../lib/sale/order-id';
import type { OrderActivity, QueueBacklog } from '../../lib/sale/ports';
import { type StatsDeps, saleStats } from '../../lib/sale/stats';
import type { AcceptedOrder, OrderStatus, Product } from '../../lib/sale/types';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

interface FakeProduct {
  product: Product;
  available: number;
  outbox: AcceptedOrder[];
  /** persisted orders: id, status, qty, created_ms (all of generation 0, accepted before any read) */
  rows: { order_id: string; status: OrderStatus; qty: number; created_ms: number }[];
  /** a sale hash from before the acked counters: the dashboard reads its whole outbox */
  legacy?: boolean;
}

const unitsOf = (os: { qty: number }[]) => os.reduce((n, o) => n + o.qty, 0);

/** The sale hash's counters as lua/ack.lua keeps them: acked = persisted orders out of the outbox. */
function counters(p: FakeProduct) {
  const inOutbox = new Set(p.outbox.map((o) => o.order_id));
  const acked = p.rows.filter((r) => !inOutbox.has(r.order_id));
  return {
    in_flight: unitsOf(p.outbox),
    acked: p.legacy ? null : { units: unitsOf(acked), orders: acked.length },
    cut: { generation: 0, seq: p.rows.length + p.outbox.length },
  };
}

function product(id: number, stock_total: number): Product {
  return {
    id,
    sku: `SKU-${id}`,
    name: `product ${id}`,
    price_cents: 100,
    currency: 'EUR',
    stock_total,
    max_per_order: 10,
    per_customer_limit: null,
    reservation_ttl_s: 600,
    sale_starts_at: null,
    sale_ends_at: null,
    paused: false,
  };
}

const accepted = (order_id: string, product_id: number, qty: number, created_ms: number): AcceptedOrder => ({
  order_id,
  product_id,
  customer_id: 'c',
  qty,
  unit_price_cents: 100,
  currency: 'EUR',
  created_ms,
  expires_ms: created_ms + 600_000,
});

function deps(
  products: FakeProduct[],
  backlog: QueueBacklog['depth'] = async () => ({ queue: 4, dlq: 1 }),
  /** in PostgreSQL, with no sale state in the inventory */
  lost: Product[] = [],
) {
  const byId = new Map(products.map((p) => [p.product.id, p]));
  const stored = [...products.map((p) => p.product), ...lost];
  const productStore: StatsDeps['products'] = {
    async list() {
      return stored;
    },
    async get(id: number) {
      return stored.find((p) => p.id === id) ?? null;
    },
  };
  const inventory: StatsDeps['inventory'] = {
    async snapshots(ids?: number[]) {
      return (ids ?? [...byId.keys()]).flatMap((id) => {
        const p = byId.get(id);
        return p ? [{ product: p.product, available: p.available, in_flight: 0 }] : [];
      });
    },
    async auditState(id: number) {
      const p = byId.get(id);
      if (!p) return null;
      return {
        stock_total: p.product.stock_total,
        available: p.available,
        outbox: p.outbox,
        counters: counters(p),
      };
    },
    async statsState(id: number, since_ms: number) {
      const p = byId.get(id);
      if (!p) return null;
      const created = p.outbox.map((o) => o.created_ms);
      return {
        stock_total: p.product.stock_total,
        available: p.available,
        counters: counters(p),
        outbox: {
          orders: p.outbox.length,
          oldest_ms: created.length ? Math.min(...created) : null,
          since: created.filter((ms) => ms >= since_ms).length,
        },
      };
    },
  };
  const orders: StatsDeps['orders'] = {
    async auditFigures(id: number, order_ids: string[]) {
      const p = byId.get(id)!;
      const units: Partial<Record<OrderStatus, number>> = {};
      for (const r of p.rows) units[r.status] = (units[r.status] ?? 0) + r.qty;
      const ids = new Set(p.rows.map((r) => r.order_id));
      const rest = p.rows.filter((r) => !order_ids.includes(r.order_id));
      const counted = { units: unitsOf(rest), orders: rest.length };
      return { units, existing: new Set(order_ids.filter((o) => ids.has(o))), counted };
    },
  };
  const activity: OrderActivity = {
    async createdSince(since, product_ids, order_ids) {
      const created = new Map<number, number>();
      const all = new Set<string>();
      for (const id of product_ids) {
        const rows = byId.get(id)!.rows;
        for (const r of rows) all.add(r.order_id);
        created.set(id, rows.filter((r) => r.created_ms >= since.getTime()).length);
      }
      return { created, existing: new Set(order_ids.filter((o) => all.has(o))) };
    },
  };
  return { inventory, orders, products: productStore, activity, backlog: { depth: backlog } };
}

describe('saleStats', () => {
  it('reports each product as its audit does, with the order rate over the window', async () => {
    const a: FakeProduct = {
      product: product(1, 100),
      available: 90,
      rows: [
        { order_id: 'a-old', status: 'paid', qty: 3, created_ms: NOW - 60_000 },
        { order_id: 'a-1', status: 'reserved', qty: 2, created_ms: NOW - 5_000 },
        // persisted and still in the outbox (ack pending): counted once
        { order_id: 'a-2', status: 'reserved', qty: 1, created_ms: NOW - 4_000 },
      ],
      outbox: [
        accepted('a-2', 1, 1, NOW - 4_000),
        accepted('a-3', 1, 4, NOW - 1_000), // only in the outbox
      ],
    };
    const s = await saleStats(deps([a]), { now_ms: NOW, limit: 50 });
    expect(s.products).toEqual([
      {
        product_id: 1,
        sku: 'SKU-1',
        name: 'product 1',
        state: 'live',
        stock_total: 100,
        available: 90,
        reserved: 7, // 2 + 1 persisted, 4 in flight
        paid: 3,
        in_flight: 4,
        drift: 0,
        ok: true,
        outbox: 2,
        outbox_oldest_age_s: 4, // a-2, accepted 4 s ago
        orders_per_s: 0.3, // a-1, a-2, a-3 in the last 10 s
      },
    ]);
    expect(s.at.getTime()).toBe(NOW);
    expect(s.backlog).toEqual({ outbox: 2, queue: 4, dlq: 1 });
    expect(s.ok).toBe(true);
  });

  it('names the products PostgreSQL has and the inventory lost, and is not ok while any is missing', async () => {
    const held: FakeProduct = { product: product(1, 10), available: 10, rows: [], outbox: [] };
    const lost = [product(7, 5), product(3, 5)];
    const all = await saleStats(deps([held], undefined, lost), { now_ms: NOW, limit: 50 });
    expect(all.products.map((p) => p.product_id)).toEqual([1]);
    expect(all.products_missing).toEqual([3, 7]);
    expect(all.ok).toBe(false);
    const one = await saleStats(deps([held], undefined, lost), { now_ms: NOW, limit: 50, product_id: 7 });
    expect(one).toMatchObject({ products: [], products_missing: [7], ok: false });
    const unknown = await saleStats(deps([held], undefined, lost), { now_ms: NOW, limit: 50, product_id: 9 });
    expect(unknown).toMatchObject({ products: [], products_missing: [], ok: true });
    const fine = await saleStats(deps([held]), { now_ms: NOW, limit: 50 });
    expect(fine).toMatchObject({ products_missing: [], ok: true });
  });

  it('takes the newest products by id, lists them by id, and sums the totals', async () => {
    const ps = [3, 1, 4, 2].map((id) => ({
      product: product(id, 10 * id),
      available: 10 * id - id,
      rows: [{ order_id: `o-${id}`, status: 'reserved' as const, qty: id, created_ms: NOW - 100 }],
      outbox: [],
    }));
    ps[0]!.available -= 1; // product 3 drifts by -1
    const s = await saleStats(deps(ps), { now_ms: NOW, limit: 3 });
    expect(s.products_total).toBe(4);
    expect(s.products.map((p) => p.product_id)).toEqual([2, 3, 4]);
    expect(s.totals).toEqual({
      stock_total: 90,
      available: 80,
      reserved: 9,
      paid: 0,
      in_flight: 0,
      orders_per_s: 0.3,
      drift: 1,
    });
    expect(s.products.find((p) => p.product_id === 3)).toMatchObject({ drift: 1, ok: false });
    expect(s.ok).toBe(false);
    const one = await saleStats(deps(ps), { now_ms: NOW, limit: 50, product_id: 1 });
    expect(one.products.map((p) => p.product_id)).toEqual([1]);
  });

  it('keeps reporting when the queue does not answer: backlog unknown', async () => {
    const p = { product: product(1, 5), available: 5, rows: [], outbox: [] };
    const s = await saleStats(
      deps([p], async () => {
        throw new Error('queue endpoint down');
      }),
      { now_ms: NOW, limit: 50 },
    );
    expect(s.backlog).toEqual({ outbox: 0, queue: null, dlq: null });
    expect(s.products[0]).toMatchObject({ available: 5, ok: true, orders_per_s: 0 });
  });
});

describe('saleStats outbox reads', () => {
  function longOutbox(legacy: boolean) {
    const outbox = Array.from({ length: 5000 }, (_, i) => accepted(`o-${i}`, 1, 1, NOW - 20_000 + i));
    const p: FakeProduct = { product: product(1, 6000), available: 1000, rows: [], outbox, legacy };
    const d = deps([p]);
    let entries_read = 0;
    const auditState = d.inventory.auditState.bind(d.inventory);
    d.inventory.auditState = async (id) => {
      const state = await auditState(id);
      entries_read += state?.outbox.length ?? 0;
      return state;
    };
    return { d, outbox, entries_read: () => entries_read };
  }

  it('never reads the outbox of a product with counters: its figures come from them', async () => {
    const { d, entries_read } = longOutbox(false);
    const s = await saleStats(d, { now_ms: NOW, limit: 50 });
    expect(entries_read()).toBe(0);
    expect(s.products[0]).toMatchObject({ outbox: 5000, outbox_oldest_age_s: 20, in_flight: 5000, ok: true });
  });

  it('reads the outbox of a product without acked counters once per poll (the audit’s read), never again', async () => {
    const { d, outbox, entries_read } = longOutbox(true);
    const s = await saleStats(d, { now_ms: NOW, limit: 50 });
    expect(entries_read()).toBe(outbox.length);
    expect(s.products[0]).toMatchObject({ outbox: 5000, outbox_oldest_age_s: 20, in_flight: 5000, ok: true });
  });

  it('gives the same figures from the counters as from the whole outbox', async () => {
    const make = (legacy: boolean): FakeProduct => ({
      product: product(1, 100),
      available: 90,
      legacy,
      rows: [
        { order_id: 'a-old', status: 'paid', qty: 3, created_ms: NOW - 60_000 },
        { order_id: 'a-1', status: 'reserved', qty: 2, created_ms: NOW - 5_000 },
        { order_id: 'a-2', status: 'reserved', qty: 1, created_ms: NOW - 4_000 },
      ],
      outbox: [accepted('a-2', 1, 1, NOW - 4_000), accepted('a-3', 1, 4, NOW - 1_000)],
    });
    const counted = await saleStats(deps([make(false)]), { now_ms: NOW, limit: 50 });
    const whole = await saleStats(deps([make(true)]), { now_ms: NOW, limit: 50 });
    expect(counted.products).toEqual(whole.products);
  });
});

describe('orderIdFloor', () => {
  it('is the smallest id minted at that millisecond: ids sort after it, earlier ones before', () => {
    const t = NOW;
    expect(orderIdFloor(t)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-0000-0000-000000000000$/);
    for (let i = 0; i < 200; i++) {
      expect(newOrderId(7, t) >= orderIdFloor(t)).toBe(true);
      expect(newOrderId(7, t + 1) >= orderIdFloor(t)).toBe(true);
      expect(newOrderId(7, t - 1) < orderIdFloor(t)).toBe(true);
    }
  });
});
