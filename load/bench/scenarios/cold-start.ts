// Every function of serverless.yml bundled as deployed, then loaded in a fresh process: bundle
// bytes, init, createOrder's first and second invocation.
import { join } from 'node:path';
import { ROOT } from '../../../infra/local/stack';
import { coldStart as measure } from '../cold-start';
import { orderEvent } from '../events';
import type { Scenario } from '../scenario';

export const coldStart: Scenario = {
  name: 'cold-start',
  measures: "each function's bundle size, init time, and createOrder's first invocation",
  async run(ctx, out) {
    ctx.say('cold start: bundling every function of serverless.yml and loading each in a fresh process');
    const probe = await ctx.product({ stock_total: 1000 });
    // Bundled inside the project (.esbuild/ is ignored by git): the AWS SDK is external, as in
    // Lambda, and a bundle there resolves it from the project's node_modules, standing in for the
    // runtime's copy; loading it is counted in init, as it is in Lambda.
    const cold = await measure(
      ROOT,
      join(ROOT, '.esbuild', 'bench-cold-start'),
      ctx.stack.env,
      (i) => orderEvent(ctx.tokens[1 + i]!, probe.id),
    );
    for (const b of cold.bundles)
      ctx.say(
        `  ${b.function.padEnd(20)} ${(b.bytes / 1024).toFixed(0)} KiB (gzip ${(b.gzip_bytes / 1024).toFixed(0)} KiB), init ${b.init_ms?.toFixed(0)} ms`,
      );
    out.cold = cold;
  },
};
