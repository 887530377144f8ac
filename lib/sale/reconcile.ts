// Stragglers after a rebuild: orders accepted before Redis lost a product's data that reached
// PostgreSQL only after the rebuild counted (a send held past the time fence, a message the queue's
// counters missed). PostgreSQL says exactly which (lib/orders/release-ledger.ts uncounted); their units
// are taken in Redis once, and one created under an Idempotency-Key gets the key's record back.
// An order that cannot be honoured ends `cancelled` unpaid or `refund_required` paid, with the reason
// below, and its release gives the units back: nothing stays oversold and one key holds one order.
//  - a retry under its key made a second order meanwhile (Redis had lost the key's record): the
//    order the client saw last (the retry's) keeps the key, unless only the straggler is paid (or a
//    successful payment waits for it), which then takes the key over;
//  - units sold again meanwhile: the straggler goes (after a key take-over freed the retry's units,
//    only if it is still short);
//  - its customer bought again meanwhile, and the two together exceed the per-customer limit: the
//    straggler goes (a paid one ends refund_required, for the operator).
// Every close is conditional on the status the decision saw; a race (a payment, a cancel), or a
// retry's order not in PostgreSQL yet, leaves the straggler for the next run to judge again.

import { closeAsSeen } from './order-transition';
import type { Straggler } from './ports';
import { type Claim, claimKey, releaseNow, type SettleDeps } from './release-units';
import type { Order } from './types';

const OVER_LIMIT_REASON =
  'over_limit_after_rebuild: accepted before the data loss, reached PostgreSQL after its customer bought again, over the per-customer limit';
const OVERSOLD_REASON =
  'oversold_after_rebuild: accepted before the data loss, reached PostgreSQL after the rebuild, units sold again';
const DUPLICATE_REASON =
  'duplicate_after_rebuild: accepted before the data loss, reached PostgreSQL after a retry under its Idempotency-Key made a second order';
const RETRY_DUPLICATE_REASON =
  'duplicate_after_rebuild: a retry under an Idempotency-Key whose first order (paid) reached PostgreSQL after the rebuild';

/** Judge again next run: a close lost a race, or the order a key answers is still on its way. */
const LATER = 'later' as const;

export async function reconcileStragglers(deps: SettleDeps, stragglers: Straggler[]): Promise<number> {
  let done = 0;
  for (const s of stragglers) if (await reconcileOne(deps, s)) done++;
  return done;
}

/** One straggler: false when it is left for the next run to judge again. */
async function reconcileOne(deps: SettleDeps, s: Straggler): Promise<boolean> {
  // The key's record first: a rollback (which loses the newest writes) that kept the reconcile
  // then kept the claim too, and the reconcile is what the write evidence checks.
  const claim = s.keyed ? await claimKey(deps, s.keyed) : null;
  if (claim?.kind === 'unavailable') return false;
  const r = await deps.inventory.reconcile(s, s.rebuild_id);
  // Being rebuilt (the new rebuild counts it) or another generation: judged again next run.
  if (!('available' in r)) return false;
  const keyed = claim ? await settleKey(deps, s, claim) : { closed: null };
  if (keyed === LATER) return false;
  const outcome = await judgeUnits(deps, s, r, keyed.closed !== s.order_id);
  if (outcome === LATER) return false;
  await deps.ledger.markReconciled(s.rebuild_id, s.order_id, outcome);
  deps.log.warn('straggler reconciled after a rebuild', {
    order_id: s.order_id,
    outcome,
    ...(keyed.closed ? { duplicate_closed: keyed.closed } : {}),
  });
  return true;
}

type Reconciled = Extract<Awaited<ReturnType<SettleDeps['inventory']['reconcile']>>, { available: number }>;

/** A straggler still kept goes when its product is short or its customer over the limit. */
async function judgeUnits(
  deps: SettleDeps,
  s: Straggler,
  r: Reconciled,
  kept: boolean,
): Promise<'taken' | 'oversold' | 'over_limit' | typeof LATER> {
  // Read again after the key's decision: its closes (and any release meanwhile) moved it.
  const now = s.keyed ? await deps.inventory.reconcile(s, s.rebuild_id) : r;
  if (!('available' in now)) return LATER;
  const outcome = kept && now.available < 0 ? 'oversold' : kept && now.over_limit ? 'over_limit' : 'taken';
  if (outcome === 'taken') return outcome;
  const why = outcome === 'oversold' ? OVERSOLD_REASON : OVER_LIMIT_REASON;
  return (await close(deps, await deps.orders.get(s.order_id), why)) === LATER ? LATER : outcome;
}

/**
 * The straggler's key back, or which of the two orders under it goes: the paid one stays, else the
 * retry's (the answer the client saw last).
 */
async function settleKey(
  deps: SettleDeps,
  s: Straggler,
  claim: Claim,
): Promise<{ closed: string | null } | typeof LATER> {
  const { order, idempotency_key } = s.keyed!;
  if (claim.kind !== 'other') return claim.kind === 'unavailable' ? LATER : { closed: null };
  // Statuses read once: every close below is conditional on what the decision saw.
  const mine = await deps.orders.get(s.order_id);
  const other = await deps.orders.get(claim.order_id);
  if (!(await paying(deps, s.order_id, mine)) || (await paying(deps, claim.order_id, other))) {
    if ((await close(deps, mine, DUPLICATE_REASON)) === LATER) return LATER;
    return { closed: s.order_id };
  }
  // The straggler keeps the key. The retry's order closes first: a crash before the take-over
  // leaves the key on a closed order, and the next run takes it over then.
  if (!other) return LATER;
  const closed = await close(deps, other, RETRY_DUPLICATE_REASON);
  if (closed === LATER) return LATER;
  if ((await deps.inventory.claimReplay(order, idempotency_key, true)).kind === 'unavailable') return LATER;
  return { closed: other.order_id };
}

/**
 * Paid, or a successful payment stored for it that waits for the order (an early webhook, or a
 * persist run that died before applying it) and that the payment rules apply to it: the rule of
 * the rebuild's closes (lib/orders/rows.ts paymentWaiting). An order not in PostgreSQL yet has none
 * that can be checked (its amount is unknown): a retry's order on its way is judged next run.
 */
async function paying(deps: SettleDeps, order_id: string, seen: Order | null): Promise<boolean> {
  if (seen?.status === 'paid') return true;
  return (await deps.settlement.successWaiting([order_id])).includes(order_id);
}

/**
 * Ends an order that holds units, from the status `seen` (read when the decision was made): LATER
 * if it moved since; "not_holding" if it holds none (already closed, expired, or not in PostgreSQL).
 */
async function close(
  deps: SettleDeps,
  seen: Order | null,
  why: string,
): Promise<'closed' | 'not_holding' | typeof LATER> {
  if (seen?.status !== 'reserved' && seen?.status !== 'paid') return 'not_holding';
  const t = await closeAsSeen(
    deps.settlement,
    { order_id: seen.order_id, status: seen.status },
    'system:reconcile',
    why,
  );
  if (!t) return LATER;
  await releaseNow(deps, t.release ? [t.release] : []);
  return 'closed';
}
