// Every Redis key of the product is built here and nowhere else.
// One product's keys share the hash tag {p:ID}, so they live in one Redis Cluster slot and one Lua
// script may touch them all. The prefix isolates stacks and test runs sharing one Redis.

export interface ProductKeys {
  /** hash: sale settings + counters (available, in_flight, stock_total, ...) */
  sale: string;
  /** hash: customer id -> units held (reserved or paid) */
  customers: string;
  /** hash: a rebuild's customers, written in chunks before rebuild.lua renames it over `customers` */
  customersStaged: string;
  /** zset: order ids accepted but not yet in PostgreSQL, scored by acceptance time (ms) */
  outbox: string;
  /** hash: order id -> released / held / retaken (makes release and late-payment retake idempotent) */
  released: string;
  /** zset: order id -> ms; late-payment retakes whose PostgreSQL commit is not confirmed yet */
  retaking: string;
  /** hash: order id -> generation; stragglers whose units were taken after a rebuild (reconcile.lua) */
  reconciled: string;
  /** string: the token of the one process rebuilding this product's state */
  rebuildLock: string;
  /** hash: stock adjustment id -> applied / refused (makes adjust-stock.lua idempotent) */
  adjusted: string;
  order(order_id: string): string;
  idempotency(customer_id: string, key: string): string;
  /** any key of this slot, passed where a script needs a key it will not use */
  unused: string;
}

export function productKeys(prefix: string, product_id: number): ProductKeys {
  const tag = `${prefix}:{p:${product_id}}`;
  return {
    sale: `${tag}:sale`,
    customers: `${tag}:customers`,
    customersStaged: `${tag}:customers-staged`,
    outbox: `${tag}:outbox`,
    released: `${tag}:released`,
    retaking: `${tag}:retaking`,
    reconciled: `${tag}:reconciled`,
    rebuildLock: `${tag}:rebuild-lock`,
    adjusted: `${tag}:adjusted`,
    order: (order_id) => `${tag}:order:${order_id}`,
    // Length-prefixed so customer "a:b" with key "c" never collides with customer "a" with key "b:c".
    idempotency: (customer_id, key) => `${tag}:idem:${customer_id.length}:${customer_id}:${key}`,
    unused: `${tag}:unused`,
  };
}

/** Keys outside any product slot (never touched by a product's scripts). */
export function globalKeys(prefix: string) {
  return {
    /** set of product ids that have sale state */
    products: `${prefix}:products`,
  };
}

/**
 * Unverified webhook traffic: counted and sampled in Redis, never a database row each. One hash tag,
 * so a MULTI over the counter and the sample stays in one Redis Cluster slot.
 */
export function webhookKeys(prefix: string) {
  const tag = `${prefix}:{webhooks}`;
  return {
    /** hash: reason -> unverified requests in that UTC minute (epoch minute in the key) */
    unverifiedMinute: (epoch_min: number) => `${tag}:unverified:${epoch_min}`,
    /** list: the newest unverified requests, JSON, trimmed to a bound */
    unverifiedSample: `${tag}:unverified-sample`,
    /** rate-limiter-flexible's prefix for failed verifications per source */
    failedBySource: `${tag}:failed-by-source`,
  };
}
