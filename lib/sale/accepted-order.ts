// The accepted order: born in lua/reserve.lua, carried on the orders queue, written to PostgreSQL.
// This schema is its one definition: the type is inferred from it, the queue consumer parses every
// message with it (functions/persistOrders.ts) and the row mapping takes its type (lib/orders).
// No I/O here: the domain and every adapter may import it.
// zod/mini: the same zod core, and the request path's bundles (createOrder imports this through the
// inventory adapter) carry no classic zod (README, "Cold starts").
import * as z from 'zod/mini';

const int = (min?: number) => z.number().check(z.int(), ...(min === undefined ? [] : [z.minimum(min)]));

export const AcceptedOrderSchema = z.strictObject({
  order_id: z.uuid(),
  product_id: int(1),
  customer_id: z.string().check(z.minLength(1), z.maxLength(128)),
  qty: int(1),
  unit_price_cents: int(0),
  currency: z.string().check(z.length(3)),
  created_ms: int(),
  expires_ms: int(),
  /** the Idempotency-Key it was created under, if any (lets a rebuild restore replays) */
  idempotency_key: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
  /** the product's Redis generation (0, or the rebuild that wrote it) and this reservation's
   * sequence number in it: persisted, they reveal a rollback (lib/sale/rebuild.ts, closeIfBehind) */
  generation: z.optional(int(0)),
  seq: z.optional(int(1)),
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
