// The payment webhook's front door (API.md): oversized bodies refused before verification, failed
// verifications counted per minute and reason with a bounded sample in Redis (never a database row
// each), and a source that keeps failing rate limited. A verified event is never limited: the
// signature is checked first (one HMAC, cheaper than the Redis call that counts a failure).
import RateLimiterRedis from 'rate-limiter-flexible/lib/RateLimiterRedis.js';
import RateLimiterRes from 'rate-limiter-flexible/lib/RateLimiterRes.js';
import { config } from '../config';
import { redisClient } from '../inventory/client';
import { webhookKeys } from '../inventory/keys';
import { logger } from '../platform/logger';
import { Problem } from './problems';
import { rawBody } from './raw-body';
import type { Event } from './route';
import {
  refuseOversized,
  type UnverifiedReason,
  UnverifiedWebhook,
  verifyWebhook,
  WEBHOOK_ID_CHARS_MAX,
} from './webhook';

/** Per-minute counters are kept a day: at most 1,440 small hashes. */
const MINUTE_COUNTERS_TTL_S = 24 * 3600;
const SAMPLE_EXCERPT_CHARS_MAX = 512;

export interface AdmittedWebhook {
  webhook_id: string;
  raw: string;
}

export async function admitWebhook(event: Event): Promise<AdmittedWebhook> {
  const raw = rawBody(event);
  try {
    refuseOversized(raw);
    return { ...verifyWebhook(raw, event.headers), raw };
  } catch (err) {
    if (!(err instanceof UnverifiedWebhook)) throw err;
    const source = event.requestContext?.http?.sourceIp ?? 'unknown';
    await countUnverified(err.reason, source, event, raw).catch((e: Error) =>
      logger.warn('unverified webhook not counted', { error: e.message }),
    );
    await limitFailures(source);
    throw err;
  }
}

async function countUnverified(
  reason: UnverifiedReason,
  source: string,
  event: Event,
  raw: string,
): Promise<void> {
  const c = config();
  const k = webhookKeys(c.REDIS_KEY_PREFIX);
  const minute = k.unverifiedMinute(Math.floor(Date.now() / 60_000));
  const sample = JSON.stringify({
    at: new Date().toISOString(),
    reason,
    source,
    webhook_id: event.headers['webhook-id']?.slice(0, WEBHOOK_ID_CHARS_MAX) ?? null,
    body_excerpt: raw.slice(0, SAMPLE_EXCERPT_CHARS_MAX),
  });
  const tx = redisClient().multi().hincrby(minute, reason, 1).expire(minute, MINUTE_COUNTERS_TTL_S);
  if (c.WEBHOOK_UNVERIFIED_SAMPLE_MAX > 0)
    tx.lpush(k.unverifiedSample, sample).ltrim(k.unverifiedSample, 0, c.WEBHOOK_UNVERIFIED_SAMPLE_MAX - 1);
  await tx.exec();
}

let limiter: RateLimiterRedis | null | undefined;

/** 429 once a source has failed verification more than WEBHOOK_FAILED_PER_MIN times this minute. */
async function limitFailures(source: string): Promise<void> {
  const c = config();
  limiter ??=
    c.WEBHOOK_FAILED_PER_MIN > 0
      ? new RateLimiterRedis({
          storeClient: redisClient(),
          points: c.WEBHOOK_FAILED_PER_MIN,
          duration: 60,
          keyPrefix: webhookKeys(c.REDIS_KEY_PREFIX).failedBySource,
        })
      : null;
  if (!limiter) return;
  try {
    await limiter.consume(source);
  } catch (res) {
    if (!(res instanceof RateLimiterRes)) {
      logger.warn('webhook rate limiter unavailable; request answered 401', { error: String(res) });
      return;
    }
    const retry_s = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    throw new Problem(
      'rate-limited',
      `too many failed verifications from this source; retry in ${retry_s} s`,
      {},
      { 'Retry-After': String(retry_s) },
    );
  }
}

export interface UnverifiedReport {
  /** newest minute first: { minute (RFC 3339), counts per reason } */
  minutes: { minute: string; counts: Record<string, number> }[];
  sample: unknown[];
}

/** What the operator sees (`cli webhook-rejects`): the last minutes' counts and the sample. */
export async function unverifiedReport(minutes: number): Promise<UnverifiedReport> {
  const k = webhookKeys(config().REDIS_KEY_PREFIX);
  const now_min = Math.floor(Date.now() / 60_000);
  const ids = Array.from({ length: minutes }, (_, i) => now_min - i);
  const [hashes, sample] = await Promise.all([
    Promise.all(ids.map((m) => redisClient().hgetall(k.unverifiedMinute(m)))),
    redisClient().lrange(k.unverifiedSample, 0, -1),
  ]);
  return {
    minutes: ids
      .map((m, i) => ({
        minute: new Date(m * 60_000).toISOString(),
        counts: Object.fromEntries(Object.entries(hashes[i] ?? {}).map(([r, n]) => [r, Number(n)])),
      }))
      .filter((m) => Object.keys(m.counts).length > 0),
    sample: sample.map((s) => JSON.parse(s) as unknown),
  };
}
