// Order ids are UUIDs (RFC 9562 version 8) that carry their product id in the last 32 bits.
// Why: an order lives in its product's Redis slot until PostgreSQL has it, and a reader holding only
// the order id must find that slot without a second index write on the hot path.
import { randomBytes } from 'node:crypto';

export const PRODUCT_ID_MAX = 0xffff_ffff;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OURS_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export function newOrderId(product_id: number, now_ms: number = Date.now()): string {
  if (!Number.isInteger(product_id) || product_id < 1 || product_id > PRODUCT_ID_MAX) {
    throw new RangeError(`product id out of range: ${product_id}`);
  }
  const b = randomBytes(16);
  b.writeUIntBE(now_ms, 0, 6); // time first: ids sort by creation, which keeps B-tree inserts local
  b[6] = 0x80 | (b[6]! & 0x0f); // version 8
  b[8] = 0x80 | (b[8]! & 0x3f); // RFC 9562 variant
  b.writeUInt32BE(product_id, 12);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** The product an order id was minted for, or null for a UUID this service did not mint. */
export function productIdOf(order_id: string): number | null {
  if (!OURS_RE.test(order_id)) return null;
  const id = Number.parseInt(order_id.slice(-8), 16);
  return id >= 1 ? id : null;
}

/** The smallest order id minted at or after `at_ms`: ids start with their creation time, so
 * `order_id >= orderIdFloor(t)` finds recent orders with a primary-key range scan. */
export function orderIdFloor(at_ms: number): string {
  const h = Math.max(0, Math.floor(at_ms)).toString(16).padStart(12, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-0000-0000-000000000000`;
}
