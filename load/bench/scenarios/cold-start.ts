// Every function of serverless.yml bundled as deployed, then loaded in a fresh process: bundle
// bytes, init, and the first and second invocation of every function whose normal answer a probe
// can ask for without writing (createOrder: an order of its own product).
import { join } from 'node:path';
import { httpEvent } from '../../../infra/local/lambda-event';
import { ROOT } from '../../../infra/local/stack';
import { coldStart as measure, type ProbeEvent } from '../cold-start';
import { orderEvent } from '../events';
import type { Scenario } from '../scenario';

export const coldStart: Scenario = {
  name: 'cold-start',
  measures: "each function's bundle size, init time and first invocation",
  async run(ctx, out) {
    ctx.say('cold start: bundling every function of serverless.yml and loading each in a fresh process');
    const probe = await ctx.product({ stock_total: 1000 });
    const id = String(probe.id);
    const get =
      (path: string, status: number, opts: Parameters<typeof httpEvent>[2] = {}): ProbeEvent =>
      () => ({ event: httpEvent('GET', path, opts), status });
    const buyer = { authorization: `Bearer ${ctx.tokens[0]!}` };
    const events: Record<string, ProbeEvent> = {
      // a buyer per probe, so no per-customer limit answers instead of a reservation
      createOrder: (i) => ({ event: orderEvent(ctx.tokens[1 + i]!, probe.id), status: 202 }),
      listOrders: get('/api/orders', 200, { headers: buyer }),
      getProduct: get(`/api/products/${id}`, 200, { pathParameters: { id } }),
      listProducts: get('/api/products', 200),
      healthz: get('/healthz', 200),
      readyz: get('/readyz', 200),
      openapi: get('/openapi.json', 200),
      docs: get('/docs', 200),
      dashboard: get('/', 200),
      notFound: get('/no-such-route', 404),
    };
    // Bundled inside the project (.esbuild/ is ignored by git): the AWS SDK is external, as in
    // Lambda, and a bundle there resolves it from the project's node_modules, standing in for the
    // runtime's copy; loading it is counted in init, as it is in Lambda.
    const cold = await measure(ROOT, join(ROOT, '.esbuild', 'bench-cold-start'), ctx.stack.env, events);
    const ms = (v: number | null | undefined) => (v == null ? '-' : `${v.toFixed(0)} ms`);
    for (const b of cold.bundles)
      ctx.say(
        `  ${b.function.padEnd(20)} ${(b.bytes / 1024).toFixed(0)} KiB (gzip ${(b.gzip_bytes / 1024).toFixed(0)} KiB), init ${ms(b.init_ms)}, first ${ms(b.first_ms)}, second ${ms(b.second_ms)}`,
      );
    out.cold = cold;
  },
};
