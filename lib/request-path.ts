// The wiring POST /api/orders needs, and nothing else: Redis and the queue. Kept apart from
// lib/container.ts so createOrder's bundle does not carry (or initialise) the PostgreSQL client.
import { config } from './config';
import { redisClient } from './inventory/client';
import { redisInventory, resendBound } from './inventory/inventory';
import { sqsOrderQueue } from './queue/sqs';
import type { Inventory, OrderQueue } from './sale/ports';

let inv: Inventory | undefined;
let q: OrderQueue | undefined;

export const inventory = (): Inventory => {
  const c = config();
  inv ??= redisInventory(
    redisClient(),
    c.REDIS_KEY_PREFIX,
    resendBound(c.REDIS_COMMAND_TIMEOUT_MS, c.REDIS_RESEND_WINDOW_S),
  );
  return inv;
};

export const orderQueue = (): OrderQueue => {
  q ??= sqsOrderQueue();
  return q;
};
