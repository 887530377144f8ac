// Readiness: each dependency answers a cheap call within a bound, or is named as down.
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { config } from '../config';
import { redisClient } from '../inventory/client';
import { db } from '../orders/db';
import { sqsClient } from '../queue/sqs';

const CHECK_TIMEOUT_MS = 1500;

export interface Check {
  ok: boolean;
  latency_ms: number;
  error?: string;
}

export async function checkDependencies(): Promise<Record<'redis' | 'postgres' | 'queue', Check>> {
  const [redis, postgres, queue] = await Promise.all([
    timed(async () => {
      await redisClient().ping();
    }),
    timed(async () => {
      await db()`SELECT 1`;
    }),
    timed(async () => {
      const QueueUrl = config().ORDERS_QUEUE_URL;
      if (!QueueUrl) throw new Error('ORDERS_QUEUE_URL is not set');
      await sqsClient().send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    }),
  ]);
  return { redis, postgres, queue };
}

async function timed(fn: () => Promise<void>): Promise<Check> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true, latency_ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { ok: false, latency_ms: Math.round(performance.now() - t0), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
