// What the domain needs from the outside world. Adapters in lib/inventory, lib/orders and lib/queue
// implement these; handlers and tests pass them in as plain parameters.
import type { PaymentEvent, PaymentResult } from './lifecycle';
import type { InventoryReserveResult } from './outcomes';
import type { AcceptedOrder, Order, OrderStatus, Product } from './types';

export interface ReserveRequest {
  order_id: string;
  product_id: number;
  customer_id: string;
  qty: number;
  idempotency_key: string | null;
}

/** A product as the inventory holds it during a sale, with its live counters (units). */
export interface ProductSnapshot {
  product: Product;
  available: number;
  in_flight: number;
}

export interface PendingOrder {
  accepted: AcceptedOrder;
  cancel_pending: boolean;
}

/** The inventory authority while a sale runs (Redis). */
export interface Inventory {
  /** Throws only when the outcome is unknown (timeout, connection lost). */
  reserve(req: ReserveRequest): Promise<InventoryReserveResult>;
  /** For a product without sale state: was its state lost (so "unavailable", not "not found")? */
  stateLost(product_id: number): Promise<boolean>;
  /** Products with live counters; every product when ids is omitted. Unknown ids are skipped. */
  snapshots(ids?: number[]): Promise<ProductSnapshot[]>;
  /** Loads a new product's sale state; never overwrites one that exists. */
  loadProduct(product: Product): Promise<void>;
  /** An order accepted by the inventory that is still on its way to PostgreSQL, or null. */
  pendingOrder(order_id: string, product_id: number): Promise<PendingOrder | null>;
  /** Counters and outbox of one product read together (one atomic read), or null if unknown. */
  auditState(product_id: number): Promise<InventoryAuditState | null>;
  /** Counters and outbox figures, never the outbox itself: a bounded read for the dashboard. */
  statsState(product_id: number, since_ms: number): Promise<InventoryStatsState | null>;
  /**
   * Gives an order's units back; idempotent on the order id. "deferred": the product's state is
   * not complete (lost or being rebuilt), nothing was written; the rebuild or a later run applies it.
   */
  release(ticket: ReleaseTicket): Promise<'released' | 'already' | 'deferred'>;
  /**
   * A late success on an expired order: take its units again if they are free. `released_in_pg`:
   * PostgreSQL's release record says the units were given back (judged even if Redis forgot it).
   */
  retake(ticket: ReleaseTicket, released_in_pg: boolean): Promise<RetakeOutcome>;
  /** Forgets these orders' release entries (memory): only for orders no call can release or retake again. */
  forgetReleases(product_id: number, order_ids: string[]): Promise<void>;
  /** Flags a cancel on an order still in the outbox (applied when it is persisted). */
  cancelPending(
    order_id: string,
    product_id: number,
    customer_id: string,
  ): Promise<{ status: 'flagged'; accepted: AcceptedOrder } | { status: 'persisted' | 'not_found' }>;
  /** Orders in the outbox of products `ids` for longer than `older_than_ms` (re-send candidates). */
  staleOutbox(ids: number[], older_than_ms: number, limit: number): Promise<AcceptedOrder[]>;
  /**
   * Applies a stock adjustment recorded in PostgreSQL, at most once per id; refuses to take
   * `available` below 0 (and a refused id stays refused). "missing": no complete state (lost or
   * being rebuilt), nothing changed; the rebuild counts the adjustment from PostgreSQL.
   */
  adjustStock(product_id: number, adjustment: StockAdjustment): Promise<AdjustOutcome>;
  /** Updates a product's sale settings (never its counters). */
  updateProduct(product: Product): Promise<void>;
  /**
   * Products (of `ids`) whose Redis state is not complete: lost data, a load that never ran, or a
   * rebuild that stopped part-way. Judged by the marker only a full load writes, never by a key.
   */
  incompleteProducts(ids: number[]): Promise<number[]>;
  /**
   * Repairs what Redis derives from PostgreSQL's product list: the index (catalog listing), and
   * settings newer in PostgreSQL than in Redis (a PATCH that died between its two writes).
   */
  repair(products: Product[]): Promise<void>;
  /**
   * Takes the product's rebuild lock and closes it (reserve "rebuilding", releases deferred).
   * Null when another rebuilder holds the lock; else when the product was first closed (ms).
   */
  beginRebuild(product: Product, token: string, lock_ttl_ms: number): Promise<{ closed_ms: number } | null>;
  /** Closes the product if the evidence proves its Redis state lost acknowledged writes. */
  closeIfBehind(evidence: RollbackEvidence): Promise<boolean>;
  /** Gives up a rebuild attempt: frees its lock (if still ours); the product stays closed. */
  abandonRebuild(product_id: number, token: string): Promise<void>;
  /** Writes the recomputed state under the rebuild's generation and reopens the product. */
  finishRebuild(
    product_id: number,
    token: string,
    state: RebuiltState,
  ): Promise<{ status: 'ok'; reopened_ms: number } | { status: 'not_owner' | 'outbox_not_empty' }>;
  /** Takes a straggler's units (accepted before a loss, not counted by rebuild `generation`). */
  reconcile(
    ticket: ReleaseTicket,
    generation: number,
  ): Promise<{ kind: 'taken' | 'already'; available: number } | { kind: 'unavailable' | 'stale' }>;
  /**
   * Takes orders out of the outbox; reports which ones the owner asked to cancel. `sequenced`: the
   * ids whose PostgreSQL row holds their generation and sequence, the only ones the acked counters
   * count (not a quarantined order, nor one first written from a message without them).
   */
  ack(
    orders: AcceptedOrder[],
    sequenced: ReadonlySet<string>,
  ): Promise<{ order_id: string; cancel_pending: boolean }[]>;
}

/** A stock change recorded in PostgreSQL before Redis applies it. */
export interface StockAdjustment {
  id: number;
  product_id: number;
  delta: number;
}

export type AdjustOutcome =
  | { kind: 'applied'; stock_total: number; available: number }
  | { kind: 'refused'; available: number }
  | { kind: 'missing' };

/** What a release gives back: an order's units, and its customer's usage. */
export interface ReleaseTicket {
  order_id: string;
  product_id: number;
  customer_id: string;
  qty: number;
}

export type RetakeOutcome = 'held' | 'retaken' | 'insufficient' | 'over_limit' | 'unavailable';

/** Runs a retake for an order; `released_in_pg` comes from PostgreSQL's release record. */
export type RetakeFn = (order: Order, released_in_pg: boolean) => Promise<RetakeOutcome>;

/**
 * The inventory cannot decide now (the product's state is lost or being rebuilt): nothing was
 * applied, the caller answers 503 with Retry-After and the sender retries.
 */
export class InventoryUnavailableError extends Error {
  constructor(readonly product_id: number) {
    super(`product ${product_id} is being rebuilt`);
  }
}

/** A product's inventory state as PostgreSQL proves it. */
export interface RebuiltState {
  /** the rebuild's id in PostgreSQL: the generation Redis runs under once it is written */
  rebuild_id: number;
  stock_total: number;
  available: number;
  /** units held per customer (reserved + paid) */
  customers: Map<string, number>;
  /** orders whose units are free already: any later release or retake must know */
  released_order_ids: string[];
  /** recent orders created under an Idempotency-Key: their replays are restored */
  replays: AcceptedOrder[];
  /** recent stock adjustments' fate (pending ones this snapshot decided included): a late apply is a no-op */
  adjustments: { id: number; outcome: 'applied' | 'refused' }[];
}

/** What PostgreSQL has seen of a product's reservation sequence in one Redis generation. */
export interface RollbackEvidence {
  product_id: number;
  generation: number;
  max_seq: number;
  /** two persisted orders carry the same sequence number: Redis handed it out twice */
  duplicated: boolean;
}

/** What the rebuild reads from the durable record. */
export interface RebuildSource {
  products(): Promise<Product[]>;
  /** Sequences of recently persisted orders, per product and generation. */
  rollbackEvidence(): Promise<RollbackEvidence[]>;
  /** The newest orders holding stock (reserved or paid) of a product, newest first. */
  newestHolding(product_id: number, limit: number): Promise<{ order_id: string; qty: number }[]>;
  state(product: Product): Promise<RebuiltState & { held_units: number }>;
  /** Stamps the release markers the rebuild counted (only those: a later release is not counted). */
  markReleased(order_ids: string[]): Promise<void>;
  /** Records that Redis runs under this rebuild's generation since `reopened_ms`. */
  reopened(rebuild_id: number, reopened_ms: number): Promise<void>;
}

/** How much of the order stream is not in PostgreSQL yet (messages anywhere in the queue). */
export interface QueueBacklog {
  depth(): Promise<{ queue: number; dlq: number }>;
}

/** Every order of `generation` with a sequence up to `seq` had been accepted at the read. */
export interface ReservationCut {
  generation: number;
  seq: number;
}

/** The sale hash's counters of the outbox (lua/ack.lua), read at one instant with `cut`. */
export interface OutboxCounters {
  /** units in the outbox */
  in_flight: number;
  /**
   * units and orders acked after reaching PostgreSQL with a sequence of cut.generation (the orders
   * PostgreSQL holds of the cut, less those still in the outbox); null: a hash older than them
   */
  acked: { units: number; orders: number } | null;
  cut: ReservationCut;
}

export interface InventoryAuditState {
  stock_total: number;
  available: number;
  /** orders in the outbox: accepted, maybe not yet in PostgreSQL */
  outbox: AcceptedOrder[];
  counters: OutboxCounters;
}

export interface InventoryStatsState {
  stock_total: number;
  available: number;
  counters: OutboxCounters;
  /** sizes only (ZCARD, the first entry, ZCOUNT): O(log n) whatever the outbox holds */
  outbox: { orders: number; oldest_ms: number | null; since: number };
}

/** What PostgreSQL holds of the orders of a cut's generation up to its sequence. */
export interface CutFigures {
  units: number;
  orders: number;
}

export interface OrderQueue {
  send(order: AcceptedOrder): Promise<void>;
}

/**
 * The database refused the data itself (a constraint, the encoding): retrying cannot help, unlike
 * an outage. Thrown by OrderStore.insertAccepted so persistence can isolate the bad order.
 */
export class RejectedDataError extends Error {}

export interface OrderStore {
  /** Inserts the orders not yet present (one statement); returns the ids it inserted. */
  insertAccepted(orders: AcceptedOrder[]): Promise<string[]>;
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

export interface Straggler extends ReleaseTicket {
  rebuild_id: number;
}

export interface TransitionOutcome {
  order: Order;
  from: OrderStatus;
  release: ReleaseTicket | null;
}

export interface PaymentOutcome {
  result: PaymentResult;
  release: ReleaseTicket | null;
}

/** Order lifecycle in the durable record (PostgreSQL): conditional transitions and their markers. */
export interface OrderLifecycle {
  receivePayment(event: PaymentEvent, retake: RetakeFn): Promise<PaymentOutcome>;
  applyPendingPayments(order_ids: string[], retake: RetakeFn): Promise<PaymentOutcome[]>;
  transition(
    order_id: string,
    from: OrderStatus[],
    to: OrderStatus,
    actor: string,
    reason: string,
  ): Promise<TransitionOutcome | null>;
  overdueReservations(limit: number): Promise<string[]>;
  unappliedReleases(older_than_s: number, limit: number): Promise<ReleaseTicket[]>;
  markReleased(order_ids: string[]): Promise<void>;
  /**
   * Orders of `product_ids` in one of `statuses` whose release was applied in Redis more than
   * `older_than_s` ago and whose `released` entry is not pruned yet, oldest first.
   */
  prunableReleases(
    product_ids: number[],
    statuses: readonly OrderStatus[],
    older_than_s: number,
    limit: number,
  ): Promise<{ order_id: string; product_id: number }[]>;
  markPruned(order_ids: string[]): Promise<void>;
  strandedPaymentOrders(limit: number): Promise<string[]>;
  /**
   * Stragglers: orders accepted before a loss that the product's live rebuild did not count, not
   * reconciled yet — among `order_ids`, or (null) among recent rebuilds' orders, at most `limit`.
   */
  uncounted(order_ids: string[] | null, limit: number): Promise<Straggler[]>;
  markReconciled(rebuild_id: number, order_id: string, outcome: 'taken' | 'oversold'): Promise<void>;
  orphanStalePayments(hours: number): Promise<number>;
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

export interface ProductStore {
  create(p: Omit<Product, 'id'>): Promise<Product>;
  /** Records that the product's sale state is in Redis (from here a loss of it is a loss). */
  markLoaded(id: number): Promise<void>;
  list(): Promise<Product[]>;
  get(id: number): Promise<Product | null>;
  /**
   * Writes only the settings given, adds `stock_delta` to stock_total and bumps settings_version,
   * and records a non-zero delta as a pending adjustment, in one transaction; returns the whole
   * product after it (null if there is none). Writes nothing when stock_total would go below 0.
   */
  update(
    id: number,
    settings: ProductSettingsPatch,
    stock_delta: number,
  ): Promise<{ product: Product; adjustment: StockAdjustment | null } | 'stock_would_go_negative' | null>;
  /**
   * Records Redis's decision on a pending adjustment ("refused" takes its delta back off
   * stock_total). Only the first decision counts (a rebuild may have decided it meanwhile): returns
   * the adjustment's final fate.
   */
  settleAdjustment(
    adjustment: StockAdjustment,
    outcome: 'applied' | 'refused',
  ): Promise<'applied' | 'refused'>;
  /** Adjustments still pending after `older_than_s` (a PATCH that died between its writes). */
  pendingAdjustments(older_than_s: number, limit: number): Promise<StockAdjustment[]>;
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
   * snapshot with which of `order_ids` PostgreSQL holds.
   */
  createdSince(
    since: Date,
    product_ids: number[],
    order_ids: string[],
  ): Promise<{ created: Map<number, number>; existing: Set<string> }>;
}
