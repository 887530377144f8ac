// The test stack's serverless-offline runs the release function as the EventBridge schedule would,
// but over every product: `rate(1 minute)` becomes the cron `*/1 * * * *` (serverless-offline's
// Schedule.js), so each run starts at second 0 of a wall-clock minute. Under the suite's load one
// run took up to ~10 s (offline logs of full runs: 0.1-9.7 s). A test that makes another product's
// work overdue on purpose, or loses a product from Redis and checks what callers see before any
// rebuild, must not have that run in its window: it waits until the window fits between runs.
import { setTimeout as sleep } from 'node:timers/promises';

/** Seconds after a minute starts that the scheduled run may still be working. */
export const SCHEDULED_RUN_S_MAX = 15;

/** How long to wait, at `now_ms`, before a window of `window_s` fits between two scheduled runs. */
export function waitForWindowMs(now_ms: number, window_s: number): number {
  if (window_s > 60 - SCHEDULED_RUN_S_MAX) throw new Error(`no window of ${window_s} s fits between runs`);
  const into_minute_ms = now_ms % 60_000;
  const earliest_ms = SCHEDULED_RUN_S_MAX * 1000;
  const latest_ms = (60 - window_s) * 1000;
  if (into_minute_ms < earliest_ms) return earliest_ms - into_minute_ms;
  if (into_minute_ms > latest_ms) return 60_000 - into_minute_ms + earliest_ms;
  return 0;
}

/** Resolves when the next `window_s` seconds are clear of the stack's scheduled release run. */
export async function clearOfScheduledRun(window_s: number): Promise<void> {
  const wait_ms = waitForWindowMs(Date.now(), window_s);
  if (wait_ms > 0) await sleep(wait_ms);
}
