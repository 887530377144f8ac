// Per-container wiring: adapters are built once, on first use, and reused by every invocation.
import { config, required } from './config';
import { pgOrderActivity } from './orders/activity';
import { db } from './orders/db';
import { pgOrders } from './orders/orders';
import { pgProducts } from './orders/products';
import { pgRebuildSource } from './orders/rebuild-source';
import { recordReceipt } from './orders/receipts';
import { pgReleaseLedger } from './orders/release-ledger';
import { pgSettlementStore } from './orders/settlement-store';
import { domainLog } from './platform/logger';
import { sqsBacklog } from './queue/dlq';
import { sqsClient } from './queue/sqs';
import { inventory, orderQueue } from './request-path';
import { REBUILD_DEFAULTS } from './sale/rebuild';

export { inventory, orderQueue };
export const orders = () => pgOrders(db());
export const products = () => pgProducts(db());
export const settlement = () => pgSettlementStore(db());
export const ledger = () => pgReleaseLedger(db());
export const receipts = () => ({
  record: (r: Parameters<typeof recordReceipt>[1]) => recordReceipt(db(), r),
});

export const rebuildDeps = () => ({
  inventory: inventory(),
  source: pgRebuildSource(db()),
  settlement: settlement(),
  queue: orderQueue(),
  backlog: sqsBacklog(sqsClient(), required('ORDERS_QUEUE_URL'), config().ORDERS_DLQ_URL),
  log: domainLog,
  opts: { ...REBUILD_DEFAULTS, fence_ms: config().REBUILD_FENCE_S * 1000 },
});

/** Everything the settling code needs (payments, cancels, persistence, the release run). */
export const settleDeps = () => ({
  inventory: inventory(),
  settlement: settlement(),
  ledger: ledger(),
  orders: orders(),
  queue: orderQueue(),
  products: products(),
  log: domainLog,
});

/** The dashboard's figures: audits, order rate and the queue backlog. */
export const statsDeps = () => ({
  inventory: inventory(),
  orders: orders(),
  products: products(),
  activity: pgOrderActivity(db()),
  backlog: sqsBacklog(sqsClient(), required('ORDERS_QUEUE_URL'), config().ORDERS_DLQ_URL),
});
