// SQS trigger: write a batch of accepted orders to PostgreSQL in one statement, then clear their
// outbox entries. Records that cannot be parsed fail alone (ReportBatchItemFailures) and reach the
// DLQ after maxReceiveCount; a database failure fails the batch so every record is retried.
import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { settleDeps } from '../lib/container';
import { logger } from '../lib/platform/logger';
import { secretsFirst } from '../lib/platform/secrets';
import { persistAccepted } from '../lib/sale/persist';
import type { AcceptedOrder } from '../lib/sale/types';

const AcceptedOrderMessage = z.strictObject({
  order_id: z.uuid(),
  product_id: z.number().int().min(1),
  customer_id: z.string().min(1).max(128),
  qty: z.number().int().min(1),
  unit_price_cents: z.number().int().min(0),
  currency: z.string().length(3),
  created_ms: z.number().int(),
  expires_ms: z.number().int(),
  idempotency_key: z.string().min(1).max(255).optional(),
});

type Parsed = { ok: true; order: AcceptedOrder } | { ok: false; error: Error };

export const handler = middy<SQSEvent, PromiseSettledResult<unknown>[]>()
  .use(secretsFirst())
  .use(
    sqsPartialBatchFailure({
      logger: (reason: unknown) => logger.warn('record failed', { reason: String(reason) }),
    }),
  )
  .handler(async (event) => {
    const parsed = event.Records.map((r) => parseRecord(r.body));
    const valid = parsed.flatMap((p) => (p.ok ? [p.order] : []));
    const persisted = valid.length ? persistAccepted(settleDeps(), valid) : Promise.resolve(null);
    persisted.then(
      (r) =>
        r && logger.info('persisted batch', { records: event.Records.length, inserted: r.inserted.length }),
      () => {},
    );
    return Promise.allSettled(parsed.map((p) => (p.ok ? persisted : Promise.reject(p.error))));
  });

function parseRecord(body: string): Parsed {
  try {
    return { ok: true, order: AcceptedOrderMessage.parse(JSON.parse(body)) };
  } catch (err) {
    return {
      ok: false,
      error: new Error(`unreadable order message: ${(err as Error).message.slice(0, 200)}`),
    };
  }
}
