// What the domain needs from the inventory authority while a sale runs (Redis), split by use: each
// use case depends on the methods it calls; the one adapter (lib/inventory) implements them all.
import type { InventoryReserveResult } from './outcomes';
import type { AcceptedOrder, Order, Product } from './types';

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

/** Taking units for a new order (the request path). */
export interface ReservingInventory {
  /** Throws only when the outcome is unknown (timeout, connection lost). */
  reserve(req: ReserveRequest): Promise<InventoryReserveResult>;
}

/** Live counters, read by the catalog and the dashboard. */
export interface InventorySnapshots {
  /** Products with live counters; every product when ids is omitted. Unknown ids are skipped. */
  snapshots(ids?: number[]): Promise<ProductSnapshot[]>;
}

/** Products and their settings in the sale state. */
export interface CatalogInventory extends InventorySnapshots {
  /**
   * Every indexed product with its live counters, and the indexed ones whose sale state is missing
   * (lost and not yet rebuilt, or being rebuilt). Null when the index itself is gone: the whole
   * dataset was lost and only PostgreSQL knows which products exist.
   */
  catalog(): Promise<{ snapshots: ProductSnapshot[]; missing: number[] } | null>;
  /** For a product without sale state: was its state lost (so "unavailable", not "not found")? */
  stateLost(product_id: number): Promise<boolean>;
  /** Loads a new product's sale state; never overwrites one that exists. */
  loadProduct(product: Product): Promise<void>;
  /** Updates a product's sale settings (never its counters). */
  updateProduct(product: Product): Promise<void>;
  /**
   * Applies a stock adjustment recorded in PostgreSQL, at most once per id; refuses to take
   * `available` below 0 (and a refused id stays refused). "missing": no complete state (lost or
   * being rebuilt), nothing changed; the rebuild counts the adjustment from PostgreSQL.
   */
  adjustStock(product_id: number, adjustment: StockAdjustment): Promise<AdjustOutcome>;
  /**
   * Repairs what Redis derives from PostgreSQL's product list: the index (catalog listing), and
   * settings newer in PostgreSQL than in Redis (a PATCH that died between its two writes).
   */
  repair(products: Product[]): Promise<void>;
}

/** Accepted orders on their way to PostgreSQL (the outbox). */
export interface OutboxInventory {
  /** An order accepted by the inventory that is still on its way to PostgreSQL, or null. */
  pendingOrder(order_id: string, product_id: number): Promise<PendingOrder | null>;
  /**
   * Is this known product's state lost or being rebuilt (no `complete` marker)? Then an order of it
   * found nowhere may still be on its way ("unavailable", not "not found").
   */
  beingRebuilt(product_id: number): Promise<boolean>;
  /**
   * The generation and reservation sequence the product's complete state runs under: an order
   * reserved under that generation at or below that sequence holds its units here. Null when the
   * state is lost or being rebuilt.
   */
  liveCut(product_id: number): Promise<ReservationCut | null>;
  /** Flags a cancel on an order still in the outbox (applied when it is persisted). */
  cancelPending(
    order_id: string,
    product_id: number,
    customer_id: string,
  ): Promise<{ status: 'flagged'; accepted: AcceptedOrder } | { status: 'persisted' | 'not_found' }>;
  /** Orders in the outbox of products `ids` for longer than `older_than_ms` (re-send candidates). */
  staleOutbox(ids: number[], older_than_ms: number, limit: number): Promise<AcceptedOrder[]>;
  /** Takes persisted orders out of the outbox; reports which ones the owner asked to cancel. */
  /**
   * `sequenced`: the ids whose PostgreSQL row holds their generation and sequence, the only ones
   * the acked counters count (not a quarantined order, nor one first written from a message
   * without them).
   */
  ack(
    orders: AcceptedOrder[],
    sequenced: ReadonlySet<string>,
  ): Promise<{ order_id: string; cancel_pending: boolean }[]>;
  /** Where the product's state lives, for an operator reading a failure ("slot 42 on host:port"); null when there is one node. */
  shardOf?(product_id: number): string | null;
}

export type ReleaseOutcome = 'released' | 'already' | 'deferred';

/** Giving units back and taking them again (settling). */
export interface SettlingInventory {
  /**
   * Gives orders' units back, all of one product (one atomic call); idempotent per order id.
   * "deferred": the product's state is not complete (lost or being rebuilt), nothing was written;
   * the rebuild or a later run applies it. One outcome per ticket, in order.
   */
  releaseBatch(product_id: number, tickets: ReleaseTicket[]): Promise<ReleaseOutcome[]>;
  /**
   * A late success on an expired order: take its units again if they are free. `released_in_pg`:
   * PostgreSQL's release record says the units were given back (judged even if Redis forgot it).
   */
  retake(ticket: ReleaseTicket, released_in_pg: boolean): Promise<RetakeOutcome>;
  /**
   * Does the order's record carry the `cancel_pending` flag? Read before a late success takes units
   * again: a cancel taken by the previous release during a deploy left only this flag (no
   * order_cancel_requests row). False when the record is gone.
   */
  cancelFlagged(order_id: string, product_id: number): Promise<boolean>;
  /**
   * Retakes that wrote in Redis ("held" / "retaken") and that nobody has confirmed committed in
   * PostgreSQL yet, recorded more than `older_than_ms` ago; at most `limit`, from these products.
   */
  unconfirmedRetakes(
    product_ids: number[],
    older_than_ms: number,
    limit: number,
  ): Promise<{ order_id: string; product_id: number }[]>;
  /**
   * Gives back the units of a retake whose unit of work never committed (the order holds none in
   * PostgreSQL); "nothing" when Redis holds nothing to undo, "unavailable" when the product's state
   * is not complete (the entry stays).
   */
  undoRetake(ticket: ReleaseTicket): Promise<'undone' | 'nothing' | 'unavailable'>;
  /** The retake of this order is committed (or moot): its entry is not needed any more. */
  forgetRetake(product_id: number, order_id: string): Promise<void>;
  /** Forgets these orders' release entries (memory): only for orders no call can release or retake again. */
  forgetReleases(product_id: number, order_ids: string[]): Promise<void>;
  /**
   * Takes a straggler's units (accepted before a loss, not counted by rebuild `generation`), even
   * when short (`available` below 0) or over its customer's limit (`over_limit`): the caller closes it.
   */
  reconcile(
    ticket: ReleaseTicket,
    generation: number,
  ): Promise<
    { kind: 'taken' | 'already'; available: number; over_limit: boolean } | { kind: 'unavailable' | 'stale' }
  >;
  /**
   * Gives a straggler's Idempotency-Key its replay record back, unless the key answers another
   * order already ("other", with that order's id: one of the two is a second order under the key);
   * `take_over` claims it even then.
   */
  claimReplay(
    order: Order,
    idempotency_key: string,
    take_over: boolean,
  ): Promise<{ kind: 'claimed' | 'unavailable' } | { kind: 'other'; order_id: string }>;
}

/** Rebuilding a product's state after Redis lost it. */
export interface RebuildingInventory {
  /**
   * Products (of `ids`) whose Redis state is not complete: lost data, a load that never ran, or a
   * rebuild that stopped part-way. Judged by the marker only a full load writes, never by a key.
   */
  incompleteProducts(ids: number[]): Promise<number[]>;
  /** The rebuild generation each complete product (of `ids`) runs under, and when it reopened. */
  liveGenerations(ids: number[]): Promise<{ product_id: number; generation: number; reopened_ms: number }[]>;
  /**
   * Takes the product's rebuild lock and closes it (reserve "rebuilding", releases deferred).
   * Null when another rebuilder holds the lock; else when the product was first closed (ms). A
   * first close before `reopened_after_ms` (the product's latest reopening PostgreSQL records) is
   * a restored snapshot's: the product sold after it, so the close counts from now.
   */
  beginRebuild(
    product: Product,
    token: string,
    lock_ttl_ms: number,
    reopened_after_ms?: number,
  ): Promise<{ closed_ms: number } | null>;
  /** Closes the product if the evidence proves its Redis state lost acknowledged writes. */
  closeIfBehind(evidence: RollbackEvidence): Promise<boolean>;
  /** Closes the product if Redis no longer holds releases or stock changes PostgreSQL records as applied there. */
  closeIfForgotten(evidence: WriteEvidence): Promise<boolean>;
  /** Gives up a rebuild attempt: frees its lock (if still ours); the product stays closed. */
  abandonRebuild(product_id: number, token: string): Promise<void>;
  /** Writes the recomputed state under the rebuild's generation and reopens the product. */
  finishRebuild(
    product_id: number,
    token: string,
    state: RebuiltState,
  ): Promise<{ status: 'ok'; reopened_ms: number } | { status: 'not_owner' | 'outbox_not_empty' }>;
}

/** The invariant audit's view of one product. */
export interface AuditingInventory {
  /** Counters and outbox of one product read together (one atomic read), or null if unknown. */
  auditState(product_id: number): Promise<InventoryAuditState | null>;
  /** Counters and outbox figures, never the outbox itself: a bounded read for the dashboard. */
  statsState(product_id: number, since_ms: number): Promise<InventoryStatsState | null>;
}

/** The whole inventory authority (what the Redis adapter implements). */
export interface Inventory
  extends ReservingInventory,
    CatalogInventory,
    OutboxInventory,
    SettlingInventory,
    RebuildingInventory,
    AuditingInventory {}

/** A stock change recorded in PostgreSQL before Redis applies it. */
export interface StockAdjustment {
  id: number;
  product_id: number;
  delta: number;
  /**
   * Its PATCH answered 503 (Redis failed mid-call, outcome unknown): refused unless Redis already
   * applied it, so the admin's retry is not a second change.
   */
  withdrawn?: boolean;
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

/** forgotten: Redis had lost the order's applied release (a rollback); the product is closed for a rebuild */
export type RetakeOutcome = 'held' | 'retaken' | 'insufficient' | 'over_limit' | 'unavailable' | 'forgotten';

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
  replays: { order: Order; idempotency_key: string }[];
  /** recent stock adjustments' fate (pending ones this snapshot decided included): a late apply is a no-op */
  adjustments: { id: number; outcome: 'applied' | 'refused' }[];
}

/** What PostgreSQL has seen of a product's reservation sequence in one Redis generation. */
/**
 * Writes Redis made that PostgreSQL recorded afterwards, since the product last reopened (the most
 * recent of each kind, a bounded number): if Redis no longer holds one, it lost acknowledged writes.
 */
export interface WriteEvidence {
  product_id: number;
  /** the generation the evidence is about: the latest rebuild that reopened the product (0: none) */
  generation: number;
  /** orders whose release Redis applied (stock_releases.released_at stamped after it did) */
  released_order_ids: string[];
  /** expired orders a late payment took the units of again (order_events expired -> paid) */
  retaken_order_ids: string[];
  /** stock adjustments Redis applied (stock_adjustments.applied_at) */
  applied_adjustment_ids: number[];
  /** stragglers whose units Redis took under this generation (rebuild_reconciled, written after it did) */
  reconciled_order_ids: string[];
}

export interface RollbackEvidence {
  product_id: number;
  generation: number;
  max_seq: number;
  /** two persisted orders carry the same sequence number: Redis handed it out twice */
  duplicated: boolean;
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
