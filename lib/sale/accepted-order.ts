// The accepted order: born in lua/reserve.lua, carried on the orders queue, written to PostgreSQL.
// This schema is its one definition: the type is inferred from it, the queue consumer parses every
// message with it (functions/persistOrders.ts) and the row mapping takes its type (lib/orders).
// No I/O here: the domain and every adapter may import it.
import { z } from 'zod';

export const AcceptedOrderSchema = z.strictObject({
  order_id: z.uuid(),
  product_id: z.number().int().min(1),
  customer_id: z.string().min(1).max(128),
  qty: z.number().int().min(1),
  unit_price_cents: z.number().int().min(0),
  currency: z.string().length(3),
  created_ms: z.number().int(),
  expires_ms: z.number().int(),
  /** the Idempotency-Key it was created under, if any (lets a rebuild restore replays) */
  idempotency_key: z.string().min(1).max(255).optional(),
  /** the product's Redis generation (0, or the rebuild that wrote it) and this reservation's
   * sequence number in it: persisted, they reveal a rollback (lib/sale/rebuild.ts, closeIfBehind) */
  generation: z.number().int().min(0).optional(),
  seq: z.number().int().min(1).optional(),
});

/** An order as the inventory accepted it: what travels on the queue and is written to PostgreSQL. */
export type AcceptedOrder = z.infer<typeof AcceptedOrderSchema>;

/**
 * The order record Redis keeps beside the outbox entry: the accepted order plus the flag
 * cancel-pending.lua sets. Not parsed on the request path: reserve.lua wrote it a moment ago.
 */
export type PendingRecord = AcceptedOrder & { cancel_pending?: boolean };

/** Splits a Redis order record into the accepted order (the schema's fields) and its flag. */
export function splitPendingRecord(record: PendingRecord) {
  const { cancel_pending, ...accepted } = record;
  return { accepted: accepted satisfies AcceptedOrder, cancel_pending: cancel_pending === true };
}

/** Reads a Redis order record without parsing it: one of our scripts wrote it (see PendingRecord). */
export const pendingRecordFromJson = (json: string) => JSON.parse(json) as PendingRecord;
