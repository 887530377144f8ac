// Expiries per second: N reserved orders past their expiry, spread over a few products, then one
// release run on a throwaway stack (services only: Redis, PostgreSQL, the queue emulator).
//   npm run bench:expiry -- [orders=2000] [products=4]
// Prints orders expired, the run's duration and orders/s. On a shared machine the figure is noisy:
// compare runs made side by side.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { integer } from '../../bin/options';
import { resetConfig } from '../../lib/config';
import { inventory, products, settleDeps } from '../../lib/container';
import { createProduct } from '../../lib/sale/catalog';
import { RELEASE_RUN_DEFAULTS, runRelease } from '../../lib/sale/release-run';
import type { Order } from '../../lib/sale/types';
import { persistOverdue, reserveUnsent } from './overdue-orders';
import { freePort } from './procs';
import { removeDataDir } from './services/postgres';
import { startStack } from './stack';

/** The counts, parsed before the stack starts: `--help`, an unknown option or a bad count start nothing. */
function counts(): [orders: number, products: number] {
  const cli = new Command('bench:expiry')
    .description('expiries per second of one release run, on a throwaway stack (services only)')
    .argument('[orders]', 'reserved orders past their expiry', integer(1), 2000)
    .argument('[products]', 'products they are spread over', integer(1), 4)
    .parse();
  return cli.processedArgs as [number, number];
}

async function main() {
  const [orders_n, products_n] = counts();
  const dataDir = mkdtempSync(join(tmpdir(), 'flash-sale-expiry-bench-'));
  const stack = await startStack({
    port: await freePort(),
    dataDir,
    serve: false,
    seed: false,
    env: { REDIS_KEY_PREFIX: 'fse', LOG_LEVEL: 'ERROR' },
    say: () => {},
  });
  try {
    Object.assign(process.env, stack.env, { LOG_LEVEL: 'ERROR' });
    resetConfig();
    const ids = await makeProducts(products_n, orders_n);
    await makeOverdueOrders(ids, orders_n);
    const t0 = performance.now();
    const report = await runRelease(settleDeps(), { ...RELEASE_RUN_DEFAULTS, batch_max: orders_n });
    const s = (performance.now() - t0) / 1000;
    const rate = Math.round(report.expired / s);
    console.log(
      `expired ${report.expired} of ${orders_n} orders (${products_n} products) in ${s.toFixed(2)} s`,
    );
    console.log(`expiries/s ${rate}`);
  } finally {
    await stack.stop();
    removeDataDir(dataDir); // with the cluster's fallback folder (a mkdtemp folder is private)
  }
  process.exit(0);
}

async function makeProducts(n: number, orders_n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = await createProduct(
      { inventory: inventory(), products: products() },
      {
        sku: `EXP-${Date.now()}-${i}`,
        name: `expiry bench ${i}`,
        price_cents: 100,
        currency: 'EUR',
        stock_total: orders_n,
        max_per_order: 10,
        per_customer_limit: null,
        reservation_ttl_s: 600,
        sale_starts_at: null,
        sale_ends_at: null,
        paused: false,
      },
    );
    ids.push(s.product.id);
  }
  return ids;
}

/** Reserved in Redis, persisted already past their expiry (as if their TTL had run out). */
async function makeOverdueOrders(product_ids: number[], n: number): Promise<void> {
  const orders: Order[] = [];
  for (let i = 0; i < n; i++)
    orders.push(await reserveUnsent(`exp-${i}`, product_ids[i % product_ids.length]!, 1));
  await persistOverdue(orders);
}

await main();
