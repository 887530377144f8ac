// The faults a chaos run can inject (infra/chaos/run.ts runs one under load), and the groups the
// fault suite runs them in. Each fault says how it is injected, held and recovered, and what must
// hold while it is active.
import { setTimeout as sleep } from 'node:timers/promises';
import type postgres from 'postgres';
import { redrive } from '../../lib/queue/dlq';
import {
  dropRedisConnections,
  killFunctions,
  killRedis,
  pauseQueue,
  restartFunctions,
  restartPostgres,
  restartQueue,
  restartRedis,
  resumeQueue,
  rollbackProduct,
  stopPostgres,
  stopQueue,
  wipeRedis,
} from '../local/faults';
import { localSqsClient } from '../local/services/queue';
import type { Stack } from '../local/stack';
import { cancelSome, dlqCopyOfAnOrder, paySome, untilSome } from './actions';
import { answersUnavailable, buyOnce, postgresProbes, redisProbes, warmUp } from './probes';

export interface Fault {
  describe: string;
  inject(stack: Stack, ctx: FaultContext): Promise<void>;
  hold_ms: number;
  recover(stack: Stack, ctx: FaultContext): Promise<void>;
  /** checked while the fault is active */
  during?(stack: Stack, ctx: FaultContext): Promise<string | null>;
  /** product settings the scenario needs (e.g. a short reservation TTL so orders expire) */
  product?: { reservation_ttl_s?: number };
  /**
   * A rollback loses acknowledged writes, so units can be sold twice between the fault and its
   * detection (DESIGN.md, "Recovery, precisely"): sampled oversell after the injection is counted
   * apart, and the run must end with it surfaced (audit ok, nothing oversold among final orders).
   */
  oversells_until_detected?: true;
}

/** What a scenario may act on: the load's product, PostgreSQL, and a place to report problems. */
export interface FaultContext {
  product_id: number;
  sql: postgres.Sql;
  /** a wrong answer seen while acting (a webhook or cancel answered wrongly): fails the run */
  problems: string[];
  /** what the last release run reported (or its error), for diagnosing a problem */
  last_run: unknown;
}

const noop = async () => {};

export const FAULTS: Record<string, Fault> = {
  none: { describe: 'no fault (baseline)', inject: noop, hold_ms: 0, recover: noop },
  'redis-kill': {
    describe: 'kill -9 Redis mid-load, restart it from its AOF',
    async inject(stack, ctx) {
      await warmUp(stack, await redisProbes(ctx));
      await killRedis(stack);
    },
    hold_ms: 2000,
    recover: restartRedis,
    async during(stack, ctx) {
      return answersUnavailable(stack, await redisProbes(ctx));
    },
  },
  'redis-wipe': {
    describe: 'Redis loses all its data mid-sale; the release run rebuilds from PostgreSQL',
    inject: wipeRedis,
    hold_ms: 0,
    recover: noop,
  },
  'redis-wipe-cancels': {
    describe:
      'Redis wiped, then customers cancel persisted orders before the rebuild (releases in the loss window)',
    async inject(stack, ctx) {
      // Persisted orders to cancel must exist before the wipe: on a loaded machine the first
      // batches can still be on their way when the fault starts (a CI run found none).
      await untilSome(ctx, 'reserved');
      await wipeRedis(stack);
      await cancelSome(stack, ctx, 15);
    },
    hold_ms: 0,
    recover: noop,
  },
  'redis-wipe-payments': {
    describe:
      'Redis wiped, then payment.failed on reserved orders and late payment.succeeded on expired ones (503 while rebuilding, retried)',
    product: { reservation_ttl_s: 2 },
    async inject(stack, ctx) {
      await untilSome(ctx, 'expired');
      await wipeRedis(stack);
      await paySome(stack, ctx, 'reserved', 'payment.failed', 10);
      await paySome(stack, ctx, 'expired', 'payment.succeeded', 10);
    },
    hold_ms: 0,
    recover: noop,
  },
  'redis-wipe-dlq': {
    describe:
      'Redis wiped while the DLQ holds an order message: the product stays closed until the DLQ is redriven',
    async inject(stack, ctx) {
      await dlqCopyOfAnOrder(stack, ctx);
      await wipeRedis(stack);
    },
    hold_ms: 4000,
    async during(stack, ctx) {
      const r = await buyOnce(stack, ctx.product_id);
      return r === 503
        ? null
        : `a reserve answered ${r} while the DLQ held an order (product must stay closed)`;
    },
    async recover(stack) {
      const sqs = localSqsClient(stack.queue!.endpoint);
      await redrive(sqs, stack.env['ORDERS_DLQ_URL']!, stack.env['ORDERS_QUEUE_URL']!);
    },
  },
  'redis-wipe-in-flight-send': {
    describe:
      'Redis wiped while createOrder sends are in flight (the queue frozen across the wipe, then resumed)',
    async inject(stack) {
      pauseQueue(stack);
      await sleep(300); // reservations made now have their SendMessage hanging
      await wipeRedis(stack);
      await sleep(1200);
      resumeQueue(stack);
    },
    hold_ms: 0,
    recover: noop,
  },
  'redis-rollback': {
    describe: 'a partial rollback: the product state in Redis goes back 1.5 s under load (lost last writes)',
    async inject(stack, ctx) {
      await rollbackProduct(stack, ctx.product_id, 1500);
    },
    hold_ms: 0,
    recover: noop,
    oversells_until_detected: true,
  },
  'redis-drop-connections': {
    describe: 'every Redis client connection dropped repeatedly while reserves are in flight',
    async inject(stack) {
      for (let i = 0; i < 10; i++) {
        await dropRedisConnections(stack);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    hold_ms: 0,
    recover: noop,
  },
  'queue-down': {
    describe: 'the SQS endpoint down for 5 s (the emulator loses every message it held)',
    inject: stopQueue,
    hold_ms: 5000,
    recover: restartQueue,
  },
  'postgres-down': {
    describe: 'PostgreSQL stopped for 5 s: persist batches fail and return; the backlog drains after',
    async inject(stack) {
      await warmUp(stack, await postgresProbes());
      await stopPostgres(stack);
    },
    hold_ms: 5000,
    recover: restartPostgres,
    async during(stack) {
      const r = await fetch(`${stack.baseUrl}/readyz`).catch(() => null);
      if (!r) return 'readyz did not answer';
      const body = (await r.json()) as { down?: string[] };
      if (r.status !== 503 || !body.down?.includes('postgres')) return `readyz said ${r.status}`;
      return answersUnavailable(stack, await postgresProbes());
    },
  },
  'functions-kill': {
    describe: 'kill -9 every function mid-request and mid-batch (createOrder between Lua and send)',
    inject: killFunctions,
    hold_ms: 500,
    recover: restartFunctions,
  },
  'duplicate-delivery': {
    describe: 'every queue batch delivered twice, concurrently',
    async inject(stack) {
      stack.opts.duplicateDelivery = true;
    },
    hold_ms: 6000,
    async recover(stack) {
      stack.opts.duplicateDelivery = false;
    },
  },
};

/**
 * The fault suite's groups (tests/faults/faults.test.ts runs them in this order on one stack): every
 * fault but the baseline in exactly one (tests/unit/fault-groups.test.ts).
 */
export const FAULT_GROUPS = {
  'redis-loss': [
    'redis-wipe',
    'redis-wipe-cancels',
    'redis-wipe-payments',
    'redis-wipe-dlq',
    'redis-wipe-in-flight-send',
    'redis-rollback',
  ],
  processes: [
    'redis-kill',
    'redis-drop-connections',
    'queue-down',
    'postgres-down',
    'functions-kill',
    'duplicate-delivery',
  ],
} as const satisfies Record<string, readonly string[]>;
export type FaultGroup = keyof typeof FAULT_GROUPS;
