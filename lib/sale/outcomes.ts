// Expected outcomes are values, not exceptions; lib/http/problems.ts maps each one to HTTP.
import type { AcceptedOrder, Order } from './types';

export type ReserveRejection =
  | { kind: 'product_not_found' }
  | { kind: 'idempotency_key_reused' }
  | { kind: 'qty_above_limit'; max_per_order: number }
  | { kind: 'sale_paused' }
  | { kind: 'sale_not_started'; starts_at: Date }
  | { kind: 'sale_ended' }
  | { kind: 'customer_limit_reached'; remaining: number }
  | { kind: 'insufficient_stock'; available: number }
  | { kind: 'unavailable'; reason: string };

/** What the inventory answers: the accepted order as it stands in Redis, or a rejection. */
export type InventoryReserveResult =
  | { kind: 'reserved'; accepted: AcceptedOrder; replayed: boolean }
  | Exclude<ReserveRejection, { kind: 'unavailable' }>
  | { kind: 'unavailable'; reason: 'rebuilding' | 'command older than the resend window' };

export type ReserveOutcome = { kind: 'reserved'; order: Order; replayed: boolean } | ReserveRejection;
