// What the domain needs from the durable record (PostgreSQL), the queue and the logger. Adapters in
// lib/orders, lib/queue and lib/platform implement these; handlers and tests pass them in.
import type {
  CutFigures,
  RebuiltState,
  ReservationCut,
  RollbackEvidence,
  StockAdjustment,
  WriteEvidence,
} from './inventory-ports';
import type { AcceptedOrder, Order, OrderStatus, Product } from './types';

/**
 * The products a release run covers: a list of ids, or null for every product (production). A
 * query given a scope returns only rows of those products.
 */
export type ProductScope = readonly number[] | null;

export interface OrderQueue {
  send(order: AcceptedOrder): Promise<void>;
}

export interface OrderStore {
  /**
   * Inserts the orders not yet present (one statement); returns the ids it inserted, or `rejected`
   * when the database refused the data itself (a constraint, the encoding): retrying cannot help,
   * unlike an outage (which throws), so persistence isolates the bad order.
   */
  insertAccepted(orders: AcceptedOrder[]): Promise<{ inserted: string[] } | { rejected: string }>;
  /** One statement per order: which were inserted, which the database refused (and why). */
  insertEach(
    orders: AcceptedOrder[],
  ): Promise<{ inserted: string[]; rejected: { order: AcceptedOrder; reason: string }[] }>;
  /** Keeps a refused order for the operator (idempotent on the order id). */
  quarantine(order: AcceptedOrder, reason: string): Promise<void>;
  get(order_id: string): Promise<Order | null>;
  /** Which of these orders PostgreSQL holds with their generation and sequence. */
  sequenced(order_ids: string[]): Promise<Set<string>>;
  /**
   * Units per status for one product, read in one snapshot with which of `order_ids` exist; with a
   * cut, `counted` sums the orders of its generation up to its sequence, except `order_ids`.
   */
  auditFigures(
    product_id: number,
    order_ids: string[],
    cut?: ReservationCut,
  ): Promise<{ units: Partial<Record<OrderStatus, number>>; existing: Set<string>; counted?: CutFigures }>;
}

/** The settings a PATCH may change (stock goes through stock_delta). */
export type ProductSettingsPatch = Partial<
  Pick<
    Product,
    | 'name'
    | 'sale_starts_at'
    | 'sale_ends_at'
    | 'max_per_order'
    | 'per_customer_limit'
    | 'reservation_ttl_s'
    | 'paused'
  >
>;

/**
 * What an update wrote: the product after it, its pending adjustment and, with one, the settings it
 * replaced (the given fields as they were: a refused adjustment puts them back), or why it wrote
 * nothing.
 */
export type ProductUpdate =
  | { product: Product; adjustment: StockAdjustment | null; previous: ProductSettingsPatch }
  /** the adjustment a request with the same Idempotency-Key recorded (nothing written now) */
  | { replay: StockAdjustment & { applied: boolean }; product: Product }
  | 'stock_would_go_negative'
  | 'stock_above_max'
  | 'idempotency_key_reused';

/** A PATCH's Idempotency-Key and its request as parsed, canonical (equal requests, equal text). */
export interface IdempotentRequest {
  key: string;
  request: string;
}

export interface ProductStore {
  /**
   * Inserts the product; its SKU taken is an error, except by the same product not loaded yet and
   * younger than a rebuild would touch (a create that never answered, retried): that one is returned.
   */
  create(p: Omit<Product, 'id'>): Promise<Product>;
  /** Records that the product's sale state is in Redis (from here a loss of it is a loss). */
  markLoaded(id: number): Promise<void>;
  list(): Promise<Product[]>;
  get(id: number): Promise<Product | null>;
  /**
   * Writes only the settings given, adds `stock_delta` to stock_total and bumps settings_version,
   * and records a non-zero delta as a pending adjustment, in one transaction; returns the whole
   * product after it (null if there is none). Writes nothing when stock_total would leave
   * 0..stock_total_max, or when the sale window as stored would end before it starts (a concurrent
   * change of its other end).
   *
   * With an Idempotency-Key: the adjustment is recorded with it and the request; a live adjustment
   * (applied or pending, not refused) already under the key for this product, younger than 24 hours,
   * is returned as a replay with the product as it is (nothing written), or "idempotency_key_reused"
   * when its request differs.
   */
  update(
    id: number,
    settings: ProductSettingsPatch,
    stock: { delta: number; total_max: number },
    idempotency?: IdempotentRequest | null,
  ): Promise<ProductUpdate | 'window_invalid' | null>;
  /**
   * Records Redis's decision on a pending adjustment ("refused" takes its delta back off
   * stock_total). Only the first decision counts (a rebuild may have decided it meanwhile): returns
   * the adjustment's final fate.
   */
  settleAdjustment(
    adjustment: StockAdjustment,
    outcome: 'applied' | 'refused',
  ): Promise<'applied' | 'refused'>;
  /**
   * Adjustments still pending after `older_than_s` (a PATCH that died between its writes), and
   * withdrawn ones at once (their PATCH has answered).
   */
  pendingAdjustments(older_than_s: number, limit: number, scope?: ProductScope): Promise<StockAdjustment[]>;
  /** Marks a pending adjustment withdrawn (its PATCH answered 503); a decided one is left as it is. */
  withdrawAdjustment(adjustment: StockAdjustment): Promise<void>;
  /**
   * Puts back the settings a PATCH wrote with a stock change that was then refused, and bumps
   * settings_version, only if the row is still at `version` (no other PATCH since: its write
   * stands). Returns the product after it, or null when it changed nothing.
   */
  revertSettings(id: number, previous: ProductSettingsPatch, version: number): Promise<Product | null>;
}

export interface Logger {
  info(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
}

/** How fast orders arrive (the operator's dashboard), from the durable record. */
export interface OrderActivity {
  /**
   * Orders per product created at or after `since` (products of `product_ids` only), read in one
   * snapshot with which of `order_ids` PostgreSQL holds. `id_floor`: no order created since then
   * has a smaller id (lib/sale/order-id.ts orderIdFloor), so the count is a primary-key range scan.
   */
  createdSince(
    since: Date,
    product_ids: number[],
    order_ids: string[],
    id_floor: string,
  ): Promise<{ created: Map<number, number>; existing: Set<string> }>;
}

/** How much of the order stream is not in PostgreSQL yet (messages anywhere in the queue). */
export interface QueueBacklog {
  depth(): Promise<{ queue: number; dlq: number }>;
}

/** What the rebuild reads from the durable record. */
export interface RebuildSource {
  products(): Promise<Product[]>;
  /** Sequences of recently persisted orders, per product and generation. */
  rollbackEvidence(): Promise<RollbackEvidence[]>;
  /** Releases, retakes and stock changes Redis applied recently (since each product last reopened). */
  writeEvidence(): Promise<WriteEvidence[]>;
  /**
   * Orders holding stock that are a second one under a customer's Idempotency-Key (Redis lost the
   * key's record): all but one per key, the one kept being the paid one (or one with a successful
   * payment waiting for it, as holdersToClose ranks it), else the newest.
   */
  keyedDuplicates(product_id: number): Promise<{ order_id: string; status: 'reserved' | 'paid' }[]>;
  /**
   * Orders holding stock of a product in the order units sold twice are taken back: unpaid
   * (reserved) before paid, newest first within each. Closing an unpaid order moves no money; a
   * paid one means a refund. A reserved order with a successful payment waiting for it (stranded
   * by a crash) counts as paid: closing it would refund that payment. With the status the order was chosen in: the close is conditional on it.
   */
  holdersToClose(
    product_id: number,
    limit: number,
  ): Promise<{ order_id: string; qty: number; status: 'reserved' | 'paid' }[]>;
  state(product: Product): Promise<RebuiltState & { held_units: number }>;
  /** Stamps the release markers the rebuild counted (only those: a later release is not counted). */
  markReleased(order_ids: string[]): Promise<void>;
  /** The latest reopening PostgreSQL records per product (ms; products never rebuilt are absent). */
  lastReopened(product_ids: number[]): Promise<Map<number, number>>;
  /** Records that Redis runs under this rebuild's generation since `reopened_ms`. */
  reopened(rebuild_id: number, reopened_ms: number): Promise<void>;
  /**
   * Records the reopenings Redis shows that PostgreSQL lacks (the rebuilder died between the two);
   * returns the rebuild ids recorded now.
   */
  recordReopens(live: { product_id: number; generation: number; reopened_ms: number }[]): Promise<number[]>;
}
