// What the domain needs from the outside world, one module per side: the inventory (Redis), the
// durable record and the queue, and settling. Adapters in lib/inventory, lib/orders and lib/queue
// implement these; handlers and tests pass them in as plain parameters.
export * from './inventory-ports';
export * from './settlement-ports';
export * from './store-ports';
