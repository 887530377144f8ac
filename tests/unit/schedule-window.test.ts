// The test helper that keeps a test's window clear of the stack's every-minute release run.
import { describe, expect, it } from 'vitest';
import { SCHEDULED_RUN_S_MAX, waitForWindowMs } from '../helpers/schedule';

const at = (s: number) => Date.UTC(2026, 11, 3, 7, 0, 0) + s * 1000; // minute boundary + s seconds

describe('waitForWindowMs', () => {
  it('waits out a run that may still be working', () => {
    expect(waitForWindowMs(at(0), 10)).toBe(SCHEDULED_RUN_S_MAX * 1000);
    expect(waitForWindowMs(at(14.5), 10)).toBe(500);
  });
  it('starts at once when the window ends before the next run', () => {
    expect(waitForWindowMs(at(SCHEDULED_RUN_S_MAX), 10)).toBe(0);
    expect(waitForWindowMs(at(50), 10)).toBe(0);
  });
  it('a window that would reach the next run waits for the one after it to finish', () => {
    expect(waitForWindowMs(at(50.001), 10)).toBe(9_999 + SCHEDULED_RUN_S_MAX * 1000);
    expect(waitForWindowMs(at(59), 10)).toBe(1_000 + SCHEDULED_RUN_S_MAX * 1000);
  });
  it('refuses a window longer than the gap between runs', () => {
    expect(() => waitForWindowMs(at(20), 60 - SCHEDULED_RUN_S_MAX + 1)).toThrow(/no window/);
  });
});
