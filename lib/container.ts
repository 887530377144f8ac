// Per-container wiring: adapters are built once, on first use, and reused by every invocation.
import { config } from './config';
import { redisClient } from './inventory/client';
import { redisInventory } from './inventory/inventory';
import { db } from './orders/db';
import { pgOrders } from './orders/orders';
import { pgProducts } from './orders/products';
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
export const orders = () => pgOrders(db());
export const products = () => pgProducts(db());
