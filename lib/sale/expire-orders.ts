// Expiring overdue reservations in batches: one statement per batch moves the orders still
// `reserved` to `expired` with their release markers (an order paid or cancelled meanwhile is left
// alone: the statement's condition has exactly one winner per order), then one inventory call per
// product gives the units back.
import type { BulkExpiry, ProductScope, SettlementQueries } from './ports';
import { chunks, type ReleaseDeps, releaseNow } from './release-units';

/** Orders expired per statement: bounds the rows one transaction locks. */
export const EXPIRY_BATCH_MAX = 500;

export interface ExpiryDeps extends ReleaseDeps {
  settlement: Pick<SettlementQueries, 'overdueReservations'> & BulkExpiry;
}

/** Expires at most `limit` overdue reservations; returns how many this run expired. */
export async function expireOverdue(
  deps: ExpiryDeps,
  limit: number,
  scope: ProductScope = null,
): Promise<number> {
  let expired = 0;
  for (const batch of chunks(await deps.settlement.overdueReservations(limit, scope), EXPIRY_BATCH_MAX)) {
    const released = await deps.settlement.expireReserved(
      batch,
      'system:release',
      'reservation expired unpaid',
    );
    await releaseNow(deps, released);
    expired += released.length;
  }
  return expired;
}
