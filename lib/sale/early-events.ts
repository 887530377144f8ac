// Right after persisting: what happened to these orders before they reached PostgreSQL — cancels
// flagged in the outbox, then payments that came early (stored pending by the webhook).
import { applyFlaggedCancels } from './cancel-order';
import type { SettleDeps } from './release-units';
import { applyPendingPayments } from './settle-payment';

export async function settleAfterPersist(
  deps: SettleDeps,
  persisted: string[],
  cancel_pending: string[],
): Promise<void> {
  await applyFlaggedCancels(deps, cancel_pending);
  await applyPendingPayments(deps, persisted);
}
