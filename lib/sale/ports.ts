// What the domain needs from the outside world. Adapters in lib/inventory, lib/orders and lib/queue
// implement these; handlers and tests pass them in as plain parameters.
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
  /** Products with live counters; every product when ids is omitted. Unknown ids are skipped. */
  snapshots(ids?: number[]): Promise<ProductSnapshot[]>;
  /** Loads a new product's sale state; never overwrites one that exists. */
  loadProduct(product: Product): Promise<void>;
  /** An order accepted by the inventory that is still on its way to PostgreSQL, or null. */
  pendingOrder(order_id: string, product_id: number): Promise<PendingOrder | null>;
  /** Counters and outbox of one product read together (one atomic read), or null if unknown. */
  auditState(product_id: number): Promise<InventoryAuditState | null>;
  /** Takes persisted orders out of the outbox; reports which ones the owner asked to cancel. */
  ack(orders: AcceptedOrder[]): Promise<{ order_id: string; cancel_pending: boolean }[]>;
}

export interface InventoryAuditState {
  stock_total: number;
  available: number;
  /** orders in the outbox: accepted, maybe not yet in PostgreSQL */
  outbox: AcceptedOrder[];
}

export interface OrderQueue {
  send(order: AcceptedOrder): Promise<void>;
}

export interface OrderStore {
  /** Inserts the orders not yet present (one statement); returns the ids it inserted. */
  insertAccepted(orders: AcceptedOrder[]): Promise<string[]>;
  get(order_id: string): Promise<Order | null>;
  /** Units per status for one product, read in one snapshot with which of `order_ids` exist. */
  auditFigures(
    product_id: number,
    order_ids: string[],
  ): Promise<{ units: Partial<Record<OrderStatus, number>>; existing: Set<string> }>;
}

export interface ProductStore {
  create(p: Omit<Product, 'id'>): Promise<Product>;
  get(id: number): Promise<Product | null>;
}

export interface Logger {
  info(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
}
