// The wiring POST /api/orders needs, and nothing else: Redis and the queue. Kept apart from
// lib/container.ts so createOrder's bundle does not carry (or initialise) the PostgreSQL client.
import { config } from './config';
import { redisClient } from './inventory/client';
import { redisInventory } from './inventory/inventory';
import { sqsOrderQueue } from './queue/sqs';
import type { Inventory, OrderQueue } from './sale/ports';

let inv: Inventory | undefined;
let q: OrderQueue | undefined;

export const inventory = (): Inventory => {
  inv ??= redisInventory(redisClient(), config().REDIS_KEY_PREFIX);
  return inv;
};

export const orderQueue = (): OrderQueue => {
  q ??= sqsOrderQueue();
  return q;
};
