// The reference project's exact command (`ab -n 1000 -c 100 -k` against POST /api/orders, one
// token), on product 1 as in that command, consumer paused; the invariants checked after.
import { runAb } from '../ab';
import type { Scenario } from '../scenario';

export const ab: Scenario = {
  name: 'ab',
  measures: "the reference's headline command verbatim (ab -n 1000 -c 100 -k, one buyer token)",
  async run(ctx, out) {
    const { P } = ctx;
    await ctx.pauseConsumer();
    const r = await runAb(ctx.stack.baseUrl, ctx.ab_product_id, ctx.tokens[0]!, ctx.dataDir, P.ab);
    const invariant = await ctx.checkWrite('ab', ctx.ab_product_id, {
      accepted_orders: r.accepted,
      // ab cannot tell a 409 from a 503 (outcome unknown): any non-2xx may have taken units
      unknown_orders: r.non2xx + (P.ab.n - r.complete),
      qty: P.ab.qty,
    });
    ctx.say(`ab: ${r.rps} req/s, ${r.accepted} accepted, ${r.non2xx} non-2xx`);
    out.ab = { ...r, invariant };
  },
};
