// Right after persisting: what happened to these orders before they reached PostgreSQL — cancels
// recorded (in PostgreSQL, or only flagged in the outbox), then payments that came early (stored
// pending by the webhook).
import { applyEarlyCancels } from './cancel-order';
import type { SettleDeps } from './release-units';
import { applyPendingPayments } from './settle-payment';

export async function settleAfterPersist(
  deps: SettleDeps,
  persisted: string[],
  cancel_pending: string[],
): Promise<void> {
  await applyEarlyCancels(deps, persisted, cancel_pending);
  await applyPendingPayments(deps, persisted);
}
