// Pins down `cli prewarm` (lib/ops/prewarm.ts) on an in-memory schedule: sizing by Little's law and
// its refusals, one sale's steps and cost, overlapping sales summed, a moved or cancelled window that
// leaves the other sales' capacity alone, a sale already live, executed history ignored, --dry-run.
import { describe, expect, it } from 'vitest';
import {
  PRICE_PROVISIONED_PER_GB_S,
  type PrewarmOptions,
  provisionedConcurrency,
  runPrewarm,
  type SaleWindow,
  type ScheduledAction,
} from '../../lib/ops/prewarm';

const H = 3_600_000;
const MIN = 60_000;
const NOW = Date.UTC(2026, 11, 2, 8, 0, 0);
const SIZING = { invocation_ms: 40, headroom: 1.5, concurrency_max: 1000 };

function fakeSchedule(initial: ScheduledAction[] = []) {
  const actions = new Map(initial.map((a) => [a.name, a]));
  const calls: string[] = [];
  return {
    actions,
    calls,
    list: async () => [...actions.values()],
    put: async (a: ScheduledAction) => {
      calls.push(`put ${a.name}`);
      actions.set(a.name, a);
    },
    remove: async (name: string) => {
      calls.push(`remove ${name}`);
      actions.delete(name);
    },
  };
}

async function prewarm(
  schedule: ReturnType<typeof fakeSchedule>,
  windows: Record<number, SaleWindow>,
  o: Partial<PrewarmOptions> & { product_id: number },
  now_ms = NOW,
) {
  const lines: string[] = [];
  const change = await runPrewarm(
    { window: async (id) => windows[id]!, schedule, now_ms: () => now_ms, say: (l) => lines.push(l) },
    {
      peak_rps: 1000,
      lead_ms: 10 * MIN,
      sizing: SIZING,
      memory_mb: 512,
      arch: 'arm64',
      dry_run: false,
      ...o,
    },
  );
  return { change, lines };
}

/** capacity in force at an instant, as Application Auto Scaling would have applied it */
function capacityAt(schedule: ReturnType<typeof fakeSchedule>, at_ms: number): number {
  const past = [...schedule.actions.values()]
    .filter((a) => a.at_ms <= at_ms)
    .sort((a, b) => a.at_ms - b.at_ms);
  return past.at(-1)?.concurrency ?? 0;
}

const win = (product_id: number, from_h: number, to_h: number | null): SaleWindow => ({
  product_id,
  starts_at_ms: NOW + from_h * H,
  ends_at_ms: to_h === null ? null : NOW + to_h * H,
});

describe('sizing', () => {
  it('is peak rate × invocation time × headroom, rounded up', () => {
    expect(provisionedConcurrency({ ...SIZING, peak_rps: 5000 })).toBe(300);
    expect(provisionedConcurrency({ ...SIZING, peak_rps: 1 })).toBe(1);
  });
  it('refuses a peak above the reserved concurrency, and nonsense', () => {
    expect(() => provisionedConcurrency({ ...SIZING, peak_rps: 20_000 })).toThrow(
      /reserved concurrency 1000/,
    );
    expect(() => provisionedConcurrency({ ...SIZING, peak_rps: 0 })).toThrow(/positive/);
    expect(() => provisionedConcurrency({ ...SIZING, peak_rps: Number.NaN })).toThrow(/positive/);
  });
});

describe('one sale', () => {
  it('warms from the lead time before the start to the end, then back to 0, and prices it', async () => {
    const s = fakeSchedule();
    const { change, lines } = await prewarm(s, { 1: win(1, 2, 3) }, { product_id: 1 });
    expect(change.put.map((a) => [a.at_ms, a.concurrency])).toEqual([
      [NOW + 2 * H - 10 * MIN, 60],
      [NOW + 3 * H, 0],
    ]);
    expect(capacityAt(s, NOW + 2 * H)).toBe(60);
    expect(capacityAt(s, NOW + 3 * H)).toBe(0);
    const cost = 60 * 0.5 * 70 * 60 * PRICE_PROVISIONED_PER_GB_S.arm64;
    expect(lines.some((l) => l.includes(`$${cost.toFixed(2)}`))).toBe(true);
  });
  it('refuses a sale without an end, and one that has ended; nothing is changed', async () => {
    const s = fakeSchedule();
    await expect(prewarm(s, { 1: win(1, 1, null) }, { product_id: 1 })).rejects.toThrow(/no sale end/);
    await expect(prewarm(s, { 1: win(1, -3, -1) }, { product_id: 1 })).rejects.toThrow(/already ended/);
    expect(s.calls).toEqual([]);
  });
});

describe('overlapping sales', () => {
  it('sums the capacity where windows overlap', async () => {
    const s = fakeSchedule();
    const windows = { 1: win(1, 2, 4), 2: win(2, 3, 5) };
    await prewarm(s, windows, { product_id: 1, peak_rps: 1000 }); // 60
    await prewarm(s, windows, { product_id: 2, peak_rps: 500 }); // 30
    expect(capacityAt(s, NOW + 2 * H)).toBe(60);
    expect(capacityAt(s, NOW + 3 * H)).toBe(90);
    expect(capacityAt(s, NOW + 4 * H)).toBe(30);
    expect(capacityAt(s, NOW + 5 * H)).toBe(0);
  });

  it('a moved window replaces its own steps and keeps the other sale whole', async () => {
    const s = fakeSchedule();
    const windows = { 1: win(1, 2, 4), 2: win(2, 3, 5) };
    await prewarm(s, windows, { product_id: 1 });
    await prewarm(s, windows, { product_id: 2, peak_rps: 500 });
    windows[1] = win(1, 6, 7); // moved later, no overlap any more
    await prewarm(s, windows, { product_id: 1 });
    expect(capacityAt(s, NOW + 2 * H)).toBe(0);
    expect(capacityAt(s, NOW + 3 * H)).toBe(30);
    expect(capacityAt(s, NOW + 5 * H)).toBe(0);
    expect(capacityAt(s, NOW + 6 * H)).toBe(60);
    expect(capacityAt(s, NOW + 7 * H)).toBe(0);
    // re-running with nothing changed changes nothing
    const again = await prewarm(s, windows, { product_id: 1 });
    expect([again.change.put, again.change.remove]).toEqual([[], []]);
  });

  it('cancelling one sale leaves the other', async () => {
    const s = fakeSchedule();
    const windows = { 1: win(1, 2, 4), 2: win(2, 3, 5) };
    await prewarm(s, windows, { product_id: 1 });
    await prewarm(s, windows, { product_id: 2, peak_rps: 500 });
    await prewarm(s, windows, { product_id: 1, peak_rps: null });
    expect(capacityAt(s, NOW + 2 * H)).toBe(0);
    expect(capacityAt(s, NOW + 3.5 * H)).toBe(30);
    expect(capacityAt(s, NOW + 5 * H)).toBe(0);
  });
});

describe('time', () => {
  it('a sale already live is warmed from the next whole minute', async () => {
    const s = fakeSchedule();
    const { change } = await prewarm(s, { 1: win(1, -1, 1) }, { product_id: 1 }, NOW + 30_000);
    expect(change.put[0]).toMatchObject({ at_ms: NOW + 2 * MIN, concurrency: 60 });
  });

  it('executed actions of an earlier sale of the same product are history, not a plan', async () => {
    const s = fakeSchedule();
    await prewarm(s, { 1: win(1, 1, 2) }, { product_id: 1 });
    const later = NOW + 5 * H; // that sale is over; a new one is set up for tomorrow
    await prewarm(s, { 1: win(1, 24, 25) }, { product_id: 1 }, later);
    expect(capacityAt(s, later + 1 * H)).toBe(0);
    expect(capacityAt(s, NOW + 24 * H)).toBe(60);
    expect([...s.actions.values()].every((a) => a.at_ms >= later)).toBe(true); // history cleaned up
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const s = fakeSchedule();
    const { change, lines } = await prewarm(s, { 1: win(1, 2, 3) }, { product_id: 1, dry_run: true });
    expect(change.put).toHaveLength(2);
    expect(s.calls).toEqual([]);
    expect(lines.filter((l) => l.startsWith('would put'))).toHaveLength(2);
  });
});
