// In-process access to the same Redis/PostgreSQL/queue the stack uses, for tests that must
// control timing (reserve without sending, run the release work now).
import { settleDeps } from '../../lib/container';
import { RELEASE_RUN_DEFAULTS, type ReleaseRunOpts, runRelease } from '../../lib/sale/release-run';

export { reserveUnsent } from '../../infra/local/overdue-orders';

export async function releaseRun(opts: Partial<ReleaseRunOpts> = {}) {
  return runRelease(settleDeps(), {
    ...RELEASE_RUN_DEFAULTS,
    outbox_grace_ms: 0,
    reapply_after_s: 0,
    // Another file's run must not settle a test's deliberately pending stock adjustment before the
    // test looks at it (tests/integration/stock-adjust.test.ts settles its own with 0).
    adjust_after_s: 60,
    ...opts,
  });
}

export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeout_ms = 30_000,
) {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
