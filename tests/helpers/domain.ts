// In-process access to the same Redis/PostgreSQL/queue the stack uses, for tests that must
// control timing (reserve without sending, run the release work now).
import { inventory, settleDeps } from '../../lib/container';
import { domainLog } from '../../lib/platform/logger';
import { RELEASE_RUN_DEFAULTS, type ReleaseRunOpts, runRelease } from '../../lib/sale/release-run';
import { reserveOrder } from '../../lib/sale/reserve';

/** Reserve as createOrder does, but the SQS send "fails": the order stays only in the outbox. */
export async function reserveUnsent(customer_id: string, product_id: number, qty: number) {
  const outcome = await reserveOrder(
    {
      inventory: inventory(),
      queue: {
        send: async () => {
          throw new Error('queue unreachable (test)');
        },
      },
      log: domainLog,
    },
    { customer_id, product_id, qty, idempotency_key: null },
  );
  if (outcome.kind !== 'reserved') throw new Error(`reserve failed: ${outcome.kind}`);
  return outcome.order;
}

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
