// Readiness: each dependency answers a cheap call within a bound, or is named as down — by role
// only: the error (a host, an address, an ARN) goes to the log, never to the anonymous caller.
// Answered from a cache of READY_CACHE_MS, with one check in flight at a time, so a burst of probes
// costs three cheap calls, not three per probe.
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { config } from '../config';
import { redisClient } from '../inventory/client';
import { db } from '../orders/db';
import { sqsClient } from '../queue/sqs';
import { logger } from './logger';

const CHECK_TIMEOUT_MS = 1500;
export const READY_CACHE_MS = 2000;

export interface Check {
  ok: boolean;
  latency_ms: number;
}

export type Role = 'redis' | 'postgres' | 'queue';

export interface Readiness {
  checked_at: Date;
  checks: Record<Role, Check>;
}

let last: { at_ms: number; result: Promise<Readiness> } | undefined;

export function cachedReadiness(now_ms: number = Date.now()): Promise<Readiness> {
  if (last && now_ms - last.at_ms < READY_CACHE_MS) return last.result;
  const result = checkDependencies().then((checks) => ({ checked_at: new Date(now_ms), checks }));
  last = { at_ms: now_ms, result };
  return result;
}

async function checkDependencies(): Promise<Record<Role, Check>> {
  const [redis, postgres, queue] = await Promise.all([
    timed('redis', async () => {
      await redisClient().ping();
    }),
    timed('postgres', async () => {
      await db()`SELECT 1`;
    }),
    timed('queue', async () => {
      const QueueUrl = config().ORDERS_QUEUE_URL;
      if (!QueueUrl) throw new Error('ORDERS_QUEUE_URL is not set');
      await sqsClient().send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    }),
  ]);
  return { redis, postgres, queue };
}

async function timed(role: Role, fn: () => Promise<void>): Promise<Check> {
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
    logger.warn('readiness check failed', { role, error: (err as Error).message });
    return { ok: false, latency_ms: Math.round(performance.now() - t0) };
  } finally {
    clearTimeout(timer);
  }
}
