// SQS trigger: write a batch of accepted orders to PostgreSQL in one statement, then clear their
// outbox entries. Records that cannot be parsed fail alone (ReportBatchItemFailures) and reach the
// DLQ after maxReceiveCount; a database failure fails the batch so every record is retried; a
// Redis step after the commit that fails for one product (its cluster shard down) fails only that
// product's records (lib/sale/persist.ts), the rest are deleted.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { SQSEvent } from 'aws-lambda';
import { settleDeps } from '../lib/container';
import { logger } from '../lib/platform/logger';
import { persistMetrics } from '../lib/platform/metrics';
import { secretsFirst } from '../lib/platform/secrets';
import { type AcceptedOrder, AcceptedOrderSchema } from '../lib/sale/accepted-order';
import { type PersistResult, persistAccepted } from '../lib/sale/persist';

type Parsed = { ok: true; order: AcceptedOrder } | { ok: false; error: Error };

export const handler = middy<SQSEvent, PromiseSettledResult<unknown>[]>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(secretsFirst())
  .use(
    sqsPartialBatchFailure({
      logger: (reason: unknown) => logger.warn('record failed', { reason: String(reason) }),
    }),
  )
  .handler(async (event) => {
    const parsed = event.Records.map((r) => parseRecord(r.body));
    const valid = parsed.flatMap((p) => (p.ok ? [p.order] : []));
    const persisted = persistObserved(valid, event.Records.length);
    return Promise.allSettled(parsed.map((p) => (p.ok ? done(persisted, p.order) : Promise.reject(p.error))));
  });

/** One record's outcome: rejected when the batch failed, or when its product failed after the commit. */
async function done(persisted: Promise<PersistResult | null>, order: AcceptedOrder): Promise<void> {
  const failure = (await persisted)?.failed.find((f) => f.product_id === order.product_id);
  if (failure) {
    throw new Error(
      `product ${order.product_id}: ${failure.step} failed after the commit: ${String(failure.error)}`,
    );
  }
}

/** The write, with its metrics and one log line per new order carrying its correlation id. */
async function persistObserved(batch: AcceptedOrder[], records: number): Promise<PersistResult | null> {
  const t0 = performance.now();
  const figures = { records, unreadable: records - batch.length, inserted: 0, duplicates: 0 };
  try {
    const r = batch.length ? await persistAccepted(settleDeps(), batch) : null;
    const done_ms = Date.now();
    const fresh = new Set(r?.inserted);
    persistMetrics({
      ...figures,
      failed: (r?.failed.length ?? 0) > 0,
      inserted: r?.inserted.length ?? 0,
      duplicates: r?.duplicates.length ?? 0,
      duration_ms: performance.now() - t0,
      latency_ms: batch.filter((o) => fresh.has(o.order_id)).map((o) => done_ms - o.created_ms),
    });
    for (const order_id of r?.inserted ?? []) logger.info('order persisted', { correlation_id: order_id });
    return r;
  } catch (err) {
    persistMetrics({ ...figures, failed: true, duration_ms: performance.now() - t0, latency_ms: [] });
    throw err;
  }
}

function parseRecord(body: string): Parsed {
  try {
    return { ok: true, order: AcceptedOrderSchema.parse(JSON.parse(body)) };
  } catch (err) {
    return {
      ok: false,
      error: new Error(`unreadable order message: ${(err as Error).message.slice(0, 200)}`),
    };
  }
}
