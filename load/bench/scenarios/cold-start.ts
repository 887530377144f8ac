// Every function of serverless.yml bundled as deployed, then loaded in a fresh process: bundle
// bytes, init, and the first and second invocation of every function with its normal answer
// (load/bench/cold-probes.ts: the events, writes included).
import { join } from 'node:path';
import { ROOT } from '../../../infra/local/stack';
import { probeEvents } from '../cold-probes';
import { coldStart as measure } from '../cold-start';
import type { Scenario } from '../scenario';

export const coldStart: Scenario = {
  name: 'cold-start',
  measures: "each function's bundle size, init time and first invocation",
  async run(ctx, out) {
    ctx.say('cold start: bundling every function of serverless.yml and loading each in a fresh process');
    const probe = await ctx.product({ stock_total: 1000 });
    const events = await probeEvents(ctx, probe.id);
    // Bundled inside the project (.esbuild/ is ignored by git): the AWS SDK is external, as in
    // Lambda, and a bundle there resolves it from the project's node_modules, standing in for the
    // runtime's copy; loading it is counted in init, as it is in Lambda.
    const cold = await measure(ROOT, join(ROOT, '.esbuild', 'bench-cold-start'), ctx.stack.env, events);
    const ms = (v: number | null | undefined) => (v == null ? '-' : `${v.toFixed(0)} ms`);
    for (const b of cold.bundles)
      ctx.say(
        `  ${b.function.padEnd(20)} ${(b.bytes / 1024).toFixed(0)} KiB (gzip ${(b.gzip_bytes / 1024).toFixed(0)} KiB), init ${ms(b.init_ms)}, first ${ms(b.first_ms)}, second ${ms(b.second_ms)}${b.not_normal === undefined ? '' : `; not measured, answered ${JSON.stringify(b.not_normal)}`}`,
      );
    // The probes wrote (orders placed, cancelled, paid, persisted): the sale must still add up.
    const audit = await ctx.drained(probe.id);
    ctx.say(`  probe product after the probes: drift ${audit.drift}, ${audit.ok ? 'ok' : 'NOT OK'}`);
    if (!audit.ok || audit.drift !== 0)
      throw new Error(`cold-start probes left drift: ${JSON.stringify(audit)}`);
    out.cold = cold;
  },
};
