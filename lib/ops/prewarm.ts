// Provisioned concurrency for createOrder, planned per sale window. Pure: no AWS calls here; the
// CLI (bin/cli.ts `prewarm`) reads the existing scheduled actions, asks this module what they should
// be, and applies the difference through lib/ops/autoscaling.ts.
//
// Application Auto Scaling sets ONE capacity on the alias at a time, so overlapping sales cannot
// each own an action: the plan is a step timeline whose every boundary is a scheduled action, and
// each action's name records which products contribute what (`prewarm-<epoch_s>-p42x120-p7x30`).
// Reading the names back gives every product's plan, so moving or cancelling one sale recomputes
// the timeline without forgetting the others.

export interface SaleWindow {
  product_id: number;
  starts_at_ms: number | null;
  ends_at_ms: number | null;
}

export interface SizingInput {
  peak_rps: number;
  /** mean createOrder duration in AWS, ms (Little's law: concurrency = rate × duration) */
  invocation_ms: number;
  /** spare capacity above the computed mean, e.g. 1.5 = 50 % */
  headroom: number;
  /** createOrder's reserved concurrency: provisioned concurrency above it is refused by Lambda */
  concurrency_max: number;
}

export interface ProductPlan {
  product_id: number;
  from_ms: number;
  to_ms: number;
  concurrency: number;
}

export interface Step {
  at_ms: number;
  concurrency: number;
  contributions: { product_id: number; concurrency: number }[];
}

export interface ScheduledAction {
  name: string;
  at_ms: number;
  concurrency: number;
}

const NAME_PREFIX = 'prewarm-';
const NAME_RE = /^prewarm-(\d+)((?:-p\d+x\d+)*)$/;

export function provisionedConcurrency(s: SizingInput): number {
  if (!(s.peak_rps > 0)) throw new Error('--peak-rps must be a positive number');
  if (!(s.invocation_ms > 0)) throw new Error('invocation time must be positive');
  if (!(s.headroom >= 1)) throw new Error('headroom must be at least 1');
  const n = Math.ceil(((s.peak_rps * s.invocation_ms) / 1000) * s.headroom);
  if (n > s.concurrency_max) {
    throw new Error(
      `${s.peak_rps} req/s needs ${n} warm containers, above createOrder's reserved concurrency ${s.concurrency_max}; raise the stage parameter or lower --peak-rps`,
    );
  }
  return Math.max(1, n);
}

/** The window to keep warm: from a lead time before the start (or now, if live) to the end. */
function planFor(w: SaleWindow, concurrency: number, lead_ms: number, now_ms: number): ProductPlan {
  if (w.ends_at_ms === null) {
    throw new Error(
      `product ${w.product_id} has no sale end: provisioned concurrency would be billed forever; set sale_ends_at first`,
    );
  }
  if (w.ends_at_ms <= now_ms) throw new Error(`product ${w.product_id}'s sale has already ended`);
  const from_ms = Math.max(now_ms, (w.starts_at_ms ?? now_ms) - lead_ms);
  return { product_id: w.product_id, from_ms, to_ms: w.ends_at_ms, concurrency };
}

/** Sum of the plans active at each instant, as steps; the last step is always back to 0. */
function timeline(plans: ProductPlan[]): Step[] {
  const bounds = [...new Set(plans.flatMap((p) => [p.from_ms, p.to_ms]))].sort((a, b) => a - b);
  const steps: Step[] = [];
  for (const at_ms of bounds) {
    const contributions = plans
      .filter((p) => p.from_ms <= at_ms && at_ms < p.to_ms)
      .map((p) => ({ product_id: p.product_id, concurrency: p.concurrency }))
      .sort((a, b) => a.product_id - b.product_id);
    const prev = steps.at(-1);
    if (prev && contributionsKey(prev.contributions) === contributionsKey(contributions)) continue;
    steps.push({ at_ms, concurrency: sum(contributions), contributions });
  }
  return steps;
}

function actionName(step: Step): string {
  return `${NAME_PREFIX}${Math.floor(step.at_ms / 1000)}${contributionsKey(step.contributions)}`;
}

function contributionsKey(cs: Step['contributions']): string {
  return cs.map((c) => `-p${c.product_id}x${c.concurrency}`).join('');
}

const sum = (cs: Step['contributions']) => cs.reduce((s, c) => s + c.concurrency, 0);

function parseAction(name: string): Step | null {
  const m = NAME_RE.exec(name);
  if (!m) return null;
  const contributions = [...(m[2] ?? '').matchAll(/-p(\d+)x(\d+)/g)].map((c) => ({
    product_id: Number(c[1]),
    concurrency: Number(c[2]),
  }));
  return { at_ms: Number(m[1]) * 1000, concurrency: sum(contributions), contributions };
}

/**
 * The plans still in force, read back from the names of the actions in place. Steps that ended
 * before now are history (an executed one-time action) and say nothing about future sales.
 */
function plansFromActions(actions: ScheduledAction[], now_ms: number): ProductPlan[] {
  const steps = actions
    .map((a) => parseAction(a.name))
    .filter((s): s is Step => s !== null)
    .sort((a, b) => a.at_ms - b.at_ms)
    .filter((_s, i, all) => (all[i + 1]?.at_ms ?? Number.POSITIVE_INFINITY) > now_ms);
  const plans: ProductPlan[] = [];
  const open = new Map<number, ProductPlan>(); // product -> plan running through the previous step
  steps.forEach((step, i) => {
    const next_ms = steps[i + 1]?.at_ms ?? step.at_ms;
    const present = new Set<number>();
    for (const c of step.contributions) {
      present.add(c.product_id);
      const running = open.get(c.product_id);
      if (running && running.concurrency === c.concurrency) running.to_ms = next_ms;
      else {
        const plan = { ...c, from_ms: step.at_ms, to_ms: next_ms };
        plans.push(plan);
        open.set(c.product_id, plan);
      }
    }
    for (const id of open.keys()) if (!present.has(id)) open.delete(id);
  });
  return plans;
}

export interface Change {
  put: ScheduledAction[];
  remove: string[];
  steps: Step[];
}

/**
 * What to change so the actions in place become the timeline with `plan` replacing the product's
 * earlier plans (or removing them when `plan` is null). A step already under way stays as it is
 * when its action is in place; a new one starting sooner than the next whole minute after one
 * minute from now is put then (one-time actions must lie in the future). Executed actions are
 * removed.
 */
function reschedule(
  existing: ScheduledAction[],
  product_id: number,
  plan: ProductPlan | null,
  now_ms: number,
): Change {
  const others = plansFromActions(existing, now_ms).filter((p) => p.product_id !== product_id);
  const steps = timeline(plan ? [...others, plan] : others);
  const ours = existing.filter((a) => a.name.startsWith(NAME_PREFIX));
  const inPlace = new Set(ours.map((a) => a.name));
  const soonest_ms = Math.ceil((now_ms + 60_000) / 60_000) * 60_000;
  const wanted: ScheduledAction[] = [];
  steps.forEach((s, i) => {
    const ends_ms = steps[i + 1]?.at_ms ?? Number.POSITIVE_INFINITY;
    if (ends_ms <= now_ms) return;
    // a step that starts before the soonest schedulable minute and is not in place yet
    const tooSoon = s.at_ms < soonest_ms && !inPlace.has(actionName(s));
    if (tooSoon && ends_ms <= soonest_ms) return; // the next step comes first anyway
    const at_ms = tooSoon ? soonest_ms : s.at_ms;
    wanted.push({ name: actionName({ ...s, at_ms }), at_ms, concurrency: s.concurrency });
  });
  const wantedNames = new Set(wanted.map((a) => a.name));
  return {
    put: wanted.filter((a) => !inPlace.has(a.name)),
    remove: ours.filter((a) => !wantedNames.has(a.name)).map((a) => a.name),
    steps,
  };
}

/** us-east-1 list prices (Lambda pricing page, arm64): provisioned concurrency per GB-second. */
export const PRICE_PROVISIONED_PER_GB_S = { arm64: 0.0000033334, x86_64: 0.0000041667 } as const;

/** What the warm capacity alone costs (requests and duration are billed on top, as without it). */
function provisionedCost_usd(
  steps: Step[],
  memory_mb: number,
  arch: keyof typeof PRICE_PROVISIONED_PER_GB_S,
): number {
  let gb_s = 0;
  steps.forEach((s, i) => {
    const next = steps[i + 1];
    if (next) gb_s += s.concurrency * (memory_mb / 1024) * ((next.at_ms - s.at_ms) / 1000);
  });
  return gb_s * PRICE_PROVISIONED_PER_GB_S[arch];
}

export interface PrewarmOptions {
  product_id: number;
  peak_rps: number | null; // null: cancel the product's warm capacity
  lead_ms: number;
  sizing: Omit<SizingInput, 'peak_rps'>;
  memory_mb: number;
  arch: keyof typeof PRICE_PROVISIONED_PER_GB_S;
  dry_run: boolean;
}

export interface PrewarmDeps {
  window(product_id: number): Promise<SaleWindow>;
  schedule: {
    list(): Promise<ScheduledAction[]>;
    put(a: ScheduledAction): Promise<void>;
    remove(name: string): Promise<void>;
  };
  now_ms(): number;
  say(line: string): void;
}

/** The `prewarm` command: size, plan, print, and (unless a dry run) apply. */
export async function runPrewarm(deps: PrewarmDeps, o: PrewarmOptions): Promise<Change> {
  const now_ms = deps.now_ms();
  let plan: ProductPlan | null = null;
  if (o.peak_rps !== null) {
    const concurrency = provisionedConcurrency({ ...o.sizing, peak_rps: o.peak_rps });
    plan = planFor(await deps.window(o.product_id), concurrency, o.lead_ms, now_ms);
  }
  const change = reschedule(await deps.schedule.list(), o.product_id, plan, now_ms);
  for (const s of change.steps) {
    const who = s.contributions.map((c) => `product ${c.product_id}: ${c.concurrency}`).join(', ');
    deps.say(
      `${new Date(s.at_ms).toISOString()}  ${String(s.concurrency).padStart(5)} warm  ${who || '(none)'}`,
    );
  }
  const cost = provisionedCost_usd(change.steps, o.memory_mb, o.arch);
  deps.say(
    `warm capacity cost: $${cost.toFixed(2)} (${o.arch}, ${o.memory_mb} MB; requests and duration extra)`,
  );
  for (const name of change.remove) deps.say(`${o.dry_run ? 'would delete' : 'delete'} ${name}`);
  for (const a of change.put)
    deps.say(`${o.dry_run ? 'would put' : 'put'} ${a.name}  at ${new Date(a.at_ms).toISOString()}`);
  if (o.dry_run) return change;
  for (const a of change.put) await deps.schedule.put(a);
  for (const name of change.remove) await deps.schedule.remove(name);
  return change;
}
