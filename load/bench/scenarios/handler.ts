// Handler level, in-process (no HTTP): createOrder against the send-only handler at 1, 10 and 100
// in flight, in a child process (load/bench/handler-level.ts) so its CPU is its own.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../../infra/local/stack';
import { buildTree, type Profile, selfByPackage, svg } from '../../profile/flame';
import type { HandlerLevelResult, HandlerSpec } from '../handler-level';
import { child } from '../http';
import type { FlameResult, Scenario } from '../scenario';

const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');

export const handler: Scenario = {
  name: 'handler',
  measures:
    'createOrder vs the send-only handler in-process: invocations/s, duration, billed ms, CPU ms per invocation',
  async run(ctx, out) {
    const { P, stack } = ctx;
    const product = await ctx.product({ stock_total: 100_000_000 });
    await ctx.pauseConsumer();
    const spec: HandlerSpec = {
      product_id: product.id,
      tokens: ctx.tokens,
      warmup_s: P.handler_warmup_s,
      duration_s: P.handler_duration_s,
      in_flight: P.handler_in_flight,
      profile: { file: join(ctx.dataDir, 'createOrder.cpuprofile'), seconds: P.handler_profile_s },
    };
    const specFile = join(ctx.dataDir, 'handler-spec.json');
    const outFile = join(ctx.dataDir, 'handler-out.json');
    writeFileSync(specFile, JSON.stringify(spec));
    ctx.say(
      `handler level: createOrder vs send-only, in-process, ${P.handler_in_flight.join('/')} in flight`,
    );
    await child([TSX, join(ROOT, 'load/bench/handler-level.ts'), specFile, outFile], {
      env: {
        ...process.env,
        ...stack.env,
        LOG_LEVEL: P.log_level,
        BENCH_SEND_ONLY_QUEUE_URL: ctx.send_only_queue_url,
      },
      logFile: join(stack.logDir, 'handler-level.log'),
    });
    const r = JSON.parse(readFileSync(outFile, 'utf8')) as HandlerLevelResult;
    for (const x of r.runs)
      ctx.say(
        `  ${x.handler.padEnd(11)} @${String(x.in_flight).padEnd(3)} ${Math.round(x.per_s)}/s p50 ${x.duration_ms.p50} p99 ${x.duration_ms.p99} ms, billed mean ${x.billed_ms.mean} ms, CPU ${x.cpu_ms_per_invocation.toFixed(2)} ms`,
      );
    const invariant = await ctx.checkWrite('handler', product.id, {
      accepted_orders: r.create_order_accepted,
      qty: P.qty,
    });
    out.handler = {
      ...r,
      invariant,
      ...(r.profiled ? { flame: flameOf(spec.profile!.file, r.profiled) } : {}),
    };
  },
};

const FLAME_PACKAGES_MAX = 10;

function flameOf(file: string, profiled: NonNullable<HandlerLevelResult['profiled']>): FlameResult {
  const root = buildTree(JSON.parse(readFileSync(file, 'utf8')) as Profile);
  const by_package = [...selfByPackage(root)]
    .sort((a, b) => b[1] - a[1])
    .slice(0, FLAME_PACKAGES_MAX)
    .map(([name, us]) => ({ name, share: us / root.total_us }));
  const title = `createOrder at 1 in flight, ${profiled.invocations} invocations in ${profiled.seconds.toFixed(1)} s sampled every 100 µs (npm run bench, handler scenario)`;
  return { ...profiled, sampled_ms: root.total_us / 1000, by_package, svg: svg(root, title) };
}
