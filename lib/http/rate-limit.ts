// Per-customer and per-IP request rates on buyer routes, kept in Redis by rate-limiter-flexible so
// every Lambda container shares one budget. 0 turns a limit off (API.md). A limiter that cannot
// reach Redis lets the request through: the route itself then fails on Redis and answers 503.
// The two classes we use, imported alone: the package's index pulls in every store it supports
// (Mongo, MySQL, DynamoDB, …), about 70 KiB of createOrder's bundle.
import RateLimiterRedis from 'rate-limiter-flexible/lib/RateLimiterRedis.js';
import RateLimiterRes from 'rate-limiter-flexible/lib/RateLimiterRes.js';
import { config } from '../config';
import { redisClient } from '../inventory/client';
import { logger } from '../platform/logger';
import { Problem } from './problems';

interface Limiters {
  customer: RateLimiterRedis | null;
  ip: RateLimiterRedis | null;
}

let limiters: Limiters | undefined;

function build(): Limiters {
  const c = config();
  const make = (points: number, scope: string) =>
    points > 0
      ? new RateLimiterRedis({
          storeClient: redisClient(),
          points,
          duration: 1,
          keyPrefix: `${c.REDIS_KEY_PREFIX}:rl:${scope}`,
        })
      : null;
  return { customer: make(c.RATE_LIMIT_CUSTOMER_RPS, 'customer'), ip: make(c.RATE_LIMIT_IP_RPS, 'ip') };
}

export async function enforceRateLimits(customer_id: string, ip: string | undefined): Promise<void> {
  limiters ??= build();
  const checks: Promise<unknown>[] = [];
  if (limiters.customer) checks.push(limiters.customer.consume(customer_id));
  if (limiters.ip && ip) checks.push(limiters.ip.consume(ip));
  if (checks.length === 0) return;
  const results = await Promise.allSettled(checks);
  let wait_ms = 0;
  for (const r of results) {
    if (r.status === 'fulfilled') continue;
    if (r.reason instanceof RateLimiterRes) wait_ms = Math.max(wait_ms, r.reason.msBeforeNext);
    else logger.warn('rate limiter unavailable; request allowed', { error: String(r.reason) });
  }
  if (wait_ms > 0) {
    const retry_s = Math.max(1, Math.ceil(wait_ms / 1000));
    throw new Problem(
      'rate-limited',
      `too many requests; retry in ${retry_s} s`,
      {},
      { 'Retry-After': String(retry_s) },
    );
  }
}
