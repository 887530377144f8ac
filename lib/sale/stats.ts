// Live per-product figures for the operator's dashboard: each product's invariant report (the
// figures of GET /api/admin/products/{id}/audit, found from the outbox counters instead of the
// outbox, see audit.ts), how fast orders arrive, and the backlog between the inventory and
// PostgreSQL (Redis outboxes, the orders queue, its DLQ). A poll costs a bounded number of Redis
// commands per product, however many orders wait in its outbox.
import { type AuditReport, auditFromCounters, auditWithOutbox, confirmedRead } from './audit';
import { orderIdFloor } from './order-id';
import type {
  AuditingInventory,
  InventorySnapshots,
  OrderActivity,
  OrderStore,
  ProductSnapshot,
  ProductStore,
  QueueBacklog,
} from './ports';
import { type SaleState, saleState } from './types';

/** Order ids are minted by the function, created_at by Redis: allow this much clock skew. */
const ORDER_ID_CLOCK_SKEW_MS = 60_000;
/** Orders per second are counted over this many seconds. */
export const STATS_WINDOW_S = 10;
/** Products audited at once: each audit holds one PostgreSQL connection for its snapshot. */
const AUDITS_CONCURRENT_MAX = 4;

export interface StatsDeps {
  inventory: InventorySnapshots & AuditingInventory;
  orders: Pick<OrderStore, 'auditFigures'>;
  /** which products exist, to name those whose sale state the inventory lacks */
  products: Pick<ProductStore, 'list' | 'get'>;
  activity: OrderActivity;
  backlog: QueueBacklog;
}

export interface StatsOpts {
  now_ms: number;
  /** one product only */
  product_id?: number;
  /** otherwise the `limit` most recently created products */
  limit: number;
  window_s?: number;
}

export interface ProductStats extends AuditReport {
  sku: string;
  name: string;
  state: SaleState;
  /** orders accepted by the inventory and not yet acknowledged as persisted */
  outbox: number;
  /** how long the oldest of them has waited (0 when the outbox is empty): persistence falling behind */
  outbox_oldest_age_s: number;
  orders_per_s: number;
}

export interface SaleStats {
  at: Date;
  window_s: number;
  products_total: number;
  products: ProductStats[];
  /** in PostgreSQL without a sale state in Redis (lost and not rebuilt yet, or never loaded): not sellable */
  products_missing: number[];
  totals: {
    stock_total: number;
    available: number;
    reserved: number;
    paid: number;
    in_flight: number;
    orders_per_s: number;
    drift: number;
  };
  backlog: { outbox: number; queue: number | null; dlq: number | null };
  ok: boolean;
}

export async function saleStats(deps: StatsDeps, opts: StatsOpts): Promise<SaleStats> {
  const window_s = opts.window_s ?? STATS_WINDOW_S;
  const since_ms = opts.now_ms - window_s * 1000;
  const all = await deps.inventory.snapshots(opts.product_id === undefined ? undefined : [opts.product_id]);
  const chosen = [...all]
    .sort((a, b) => b.product.id - a.product.id)
    .slice(0, opts.limit)
    .reverse();
  // A dashboard must keep drawing while the queue endpoint is down: its depth is then unknown.
  const backlog = deps.backlog.depth().catch(() => null);

  const audited = await mapLimit(chosen, AUDITS_CONCURRENT_MAX, (s) =>
    confirmedRead(
      () => productFigures(deps, s, since_ms),
      (figures) => figures === null || figures.report.ok,
    ),
  );
  const rows = audited.filter((r) => r !== null);
  // Only products read the old way (no acked counters) pass outbox ids; counted ones pass none.
  const activity = await deps.activity.createdSince(
    new Date(since_ms),
    rows.map((r) => r.snapshot.product.id),
    rows.flatMap((r) => r.recent.order_ids),
    orderIdFloor(since_ms - ORDER_ID_CLOCK_SKEW_MS),
  );

  const products = rows.map(({ snapshot, report, outbox, recent }) => {
    const outbox_only = recent.order_ids.filter((id) => !activity.existing.has(id)).length;
    const created = (activity.created.get(report.product_id) ?? 0) + recent.outbox_only + outbox_only;
    return productStats(snapshot, report, outbox, created / window_s, opts.now_ms);
  });
  const depth = await backlog;
  const products_missing = await missingProducts(deps, all, opts.product_id);
  return {
    at: new Date(opts.now_ms),
    window_s,
    products_total: all.length,
    products,
    products_missing,
    totals: {
      stock_total: sum(products, 'stock_total'),
      available: sum(products, 'available'),
      reserved: sum(products, 'reserved'),
      paid: sum(products, 'paid'),
      in_flight: sum(products, 'in_flight'),
      orders_per_s: round2(sum(products, 'orders_per_s')),
      drift: sum(products, 'drift'),
    },
    backlog: {
      outbox: sum(products, 'outbox'),
      queue: depth?.queue ?? null,
      dlq: depth ? depth.dlq : null,
    },
    ok: products.every((p) => p.ok) && products_missing.length === 0,
  };
}

/** Products PostgreSQL has (the one asked for, or all) that the inventory holds no state for. */
async function missingProducts(
  deps: Pick<StatsDeps, 'products'>,
  held: ProductSnapshot[],
  product_id: number | undefined,
): Promise<number[]> {
  if (product_id !== undefined) {
    return held.length === 0 && (await deps.products.get(product_id)) ? [product_id] : [];
  }
  const ids = new Set(held.map((s) => s.product.id));
  return (await deps.products.list())
    .map((p) => p.id)
    .filter((id) => !ids.has(id))
    .sort((a, b) => a - b);
}

interface OutboxFigures {
  orders: number;
  oldest_ms: number | null;
}

interface ProductFigures {
  snapshot: ProductSnapshot;
  report: AuditReport;
  outbox: OutboxFigures;
  /** orders of the window only in the outbox: counted, or (old way) ids to look up in PostgreSQL */
  recent: { outbox_only: number; order_ids: string[] };
}

/**
 * One Redis read of counters and outbox sizes (O(1) commands whatever the outbox holds), then one
 * PostgreSQL snapshot. A hash without acked counters (written before they existed, until its next
 * rebuild) is read the old way, through the audit's full outbox read.
 */
async function productFigures(
  deps: StatsDeps,
  s: ProductSnapshot,
  since_ms: number,
): Promise<ProductFigures | null> {
  const id = s.product.id;
  const state = await deps.inventory.statsState(id, since_ms);
  if (!state) return null;
  if (state.counters.acked === null) return readWhole(deps, s, since_ms);
  const { units, counted } = await deps.orders.auditFigures(id, [], state.counters.cut);
  const figures = auditFromCounters(id, state, units, counted ?? { units: 0, orders: 0 });
  // Orders persisted but not yet acked are in the window (acks follow their commit within the
  // batch): the window's outbox entries less them are the orders PostgreSQL does not hold yet.
  const outbox_only = Math.max(0, state.outbox.since - figures.persisted_in_outbox);
  return {
    snapshot: s,
    report: figures.report,
    outbox: state.outbox,
    recent: { outbox_only, order_ids: [] },
  };
}

async function readWhole(
  deps: StatsDeps,
  s: ProductSnapshot,
  since_ms: number,
): Promise<ProductFigures | null> {
  const audited = await auditWithOutbox(deps, s.product.id);
  if (!audited) return null;
  const oldest_ms = audited.outbox.length ? Math.min(...audited.outbox.map((o) => o.created_ms)) : null;
  return {
    snapshot: s,
    report: audited.report,
    outbox: { orders: audited.outbox.length, oldest_ms },
    recent: {
      outbox_only: 0,
      order_ids: audited.outbox.filter((o) => o.created_ms >= since_ms).map((o) => o.order_id),
    },
  };
}

function productStats(
  s: ProductSnapshot,
  report: AuditReport,
  outbox: OutboxFigures,
  orders_per_s: number,
  now_ms: number,
): ProductStats {
  const oldest_ms = outbox.oldest_ms ?? now_ms;
  return {
    ...report,
    sku: s.product.sku,
    name: s.product.name,
    state: saleState(s.product, now_ms),
    outbox: outbox.orders,
    outbox_oldest_age_s: Math.max(0, Math.round((now_ms - oldest_ms) / 1000)),
    orders_per_s: round2(orders_per_s),
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

function sum<K extends keyof ProductStats>(rows: ProductStats[], key: K): number {
  return rows.reduce((n, r) => n + (r[key] as number), 0);
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order of `items`. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
