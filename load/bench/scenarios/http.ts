// HTTP over serverless-offline: every route of the request path against two floors served the same
// way (a trivial function, and send-only: the one SendMessage createOrder cannot avoid), with two
// load generators: autocannon (Node) and wrk (C). Each scenario gets a warm-up (its autocannon rate
// sizes the measured runs), then `rounds` measured runs per generator, taken in turns with the other
// scenarios so whatever else loads the machine falls on all of them alike. The consumer is paused;
// then reserve runs once more with the consumer persisting behind it.
import type { BenchContext } from '../context';
import {
  type Generator,
  type HttpScenario,
  load,
  measureInto,
  newHttpAcc,
  type Req,
  round2,
  type ScenarioResult,
  summarize,
} from '../http';
import { checkRowLock, describe } from '../invariants';
import { ROW_LOCK_SCHEMA_SQL } from '../row-lock';
import type { Scenario } from '../scenario';

const GENERATORS: Generator[] = ['autocannon', 'wrk'];
const ROWLOCK_STOCK = 100_000_000;

interface Planned {
  sc: HttpScenario;
  /** the product whose accepted orders are checked afterwards (write scenarios) */
  product_id?: number;
  rowlock_id?: number;
}

export const http: Scenario = {
  name: 'http',
  measures:
    "req/s, latency and CPU per request of each route (floor, send-only, reserve, AOF everysec, sold out, read, row-lock) with autocannon and wrk; the generators' CPU share; reserve with the consumer running",
  async run(ctx, out) {
    const { P, say } = ctx;
    const warm = await ctx.product({ stock_total: 100_000_000 });
    await ctx.sql.unsafe(ROW_LOCK_SCHEMA_SQL);
    const post = (path: string, product_id: number): Req => ({
      method: 'POST',
      path,
      body: JSON.stringify({ product_id, qty: P.qty }),
      tokens: ctx.tokens,
    });
    const planned: Planned[] = [];
    for (const g of GENERATORS) planned.push(...(await plan(ctx, g, post, warm.id)));
    await ctx.pauseConsumer();
    await ctx.redis.config('SET', 'appendfsync', 'always');
    say(`http: warming every route (${P.warmup_s} s each); then ${P.rounds} rounds per generator`);
    const amounts = new Map<string, { requests: number; duration_s: number; tokens_file: string }>();
    for (const { sc } of planned.filter((x) => x.sc.generator === 'autocannon')) {
      const w = await withFsync(ctx, sc, () =>
        load({ url: sc.url, requests: sc.warm ?? sc.req, duration_s: P.warmup_s }, P),
      );
      // A fixed number of requests per autocannon round (every one answered and counted, which the
      // invariant checks rely on); wrk runs for the time that takes.
      const requests = Math.max(P.connections * 10, Math.round((w.rps * P.measure_s) / P.rounds));
      // A warm-up too slow to rate (a cold bundle on a loaded machine) gives wrk the round's share.
      const duration_s = w.rps > 0 ? requests / w.rps : P.measure_s / P.rounds;
      amounts.set(sc.name, { requests, duration_s, tokens_file: ctx.tokens_file });
    }
    const acc = new Map(planned.map((x) => [x, newHttpAcc()]));
    for (let r = 0; r < P.rounds; r++)
      for (const x of planned)
        await withFsync(ctx, x.sc, () =>
          measureInto(acc.get(x)!, x.sc, amounts.get(x.sc.name)!, ctx.cpuGroups, P),
        );
    const results = planned.map((x) => {
      const a = amounts.get(x.sc.name)!;
      const amount = x.sc.generator === 'wrk' ? `${round2(a.duration_s)} s` : a.requests;
      const res = summarize(x.sc, acc.get(x)!, amount, P);
      sayRow(ctx, res);
      return res;
    });
    await ctx.resumeConsumer();
    await ctx.drained(warm.id);
    for (const [i, x] of planned.entries()) await check(ctx, x, results[i]!);
    out.http = results;
    // The whole system at once: the same reserve load while the consumer persists behind it.
    for (const g of GENERATORS) {
      const p = await ctx.product({ stock_total: 100_000_000 });
      const sc: HttpScenario = {
        name: 'reserve, consumer running',
        generator: g,
        url: ctx.stack.baseUrl,
        req: post('/api/orders', p.id),
      };
      const a = amounts.get('reserve')!;
      const whole = { ...a, requests: a.requests * P.rounds, duration_s: a.duration_s * P.rounds };
      const liveAcc = newHttpAcc();
      await measureInto(liveAcc, sc, whole, ctx.cpuGroups, { ...P, rounds: 1 });
      const res = summarize(sc, liveAcc, g === 'wrk' ? `${round2(whole.duration_s)} s` : whole.requests, {
        ...P,
        rounds: 1,
      });
      res.params['consumer'] = 'running';
      sayRow(ctx, res);
      await check(ctx, { sc, product_id: p.id }, res);
      out.http.splice(
        out.http.findIndex((s) => s.name === 'reserve, AOF everysec' && s.params['generator'] === g),
        0,
        res,
      );
    }
  },
};

async function plan(
  ctx: BenchContext,
  generator: Generator,
  post: (path: string, product_id: number) => Req,
  warm_id: number,
): Promise<Planned[]> {
  const big = () => ctx.product({ stock_total: 100_000_000 });
  const api = ctx.stack.baseUrl;
  const bench = ctx.benchUrl;
  const reserve = await big();
  const everysec = await big();
  const soldOut = await ctx.product({ stock_total: 0 });
  const read = await ctx.product({ stock_total: 1000 });
  // bench.products rows: 2 warms both generators' row-lock runs; 1 and 3 are measured.
  const rowlock_id = generator === 'wrk' ? 3 : 1;
  await ctx.sql`INSERT INTO bench.products (id, stock) VALUES (${rowlock_id}, ${ROWLOCK_STOCK}), (2, ${ROWLOCK_STOCK})
                ON CONFLICT (id) DO UPDATE SET stock = excluded.stock`;
  const g = { generator };
  return [
    { sc: { ...g, name: 'floor (trivial fn)', url: bench, req: post('/bench/floor', warm_id) } },
    { sc: { ...g, name: 'send-only fn', url: bench, req: post('/bench/send-only', warm_id) } },
    {
      sc: {
        ...g,
        name: 'reserve',
        url: api,
        req: post('/api/orders', reserve.id),
        warm: post('/api/orders', warm_id),
      },
      product_id: reserve.id,
    },
    {
      sc: {
        ...g,
        name: 'reserve, AOF everysec',
        url: api,
        req: post('/api/orders', everysec.id),
        warm: post('/api/orders', warm_id),
        fsync: 'everysec',
      },
      product_id: everysec.id,
    },
    {
      sc: { ...g, name: 'sold out (all 409)', url: api, req: post('/api/orders', soldOut.id) },
      product_id: soldOut.id,
    },
    {
      sc: { ...g, name: 'product read', url: api, req: { method: 'GET', path: `/api/products/${read.id}` } },
    },
    {
      sc: {
        ...g,
        name: 'row-lock baseline',
        url: bench,
        req: post('/bench/row-lock/orders', rowlock_id),
        warm: post('/bench/row-lock/orders', 2),
      },
      rowlock_id,
    },
  ];
}

async function withFsync<T>(ctx: BenchContext, sc: HttpScenario, f: () => Promise<T>): Promise<T> {
  if (!sc.fsync) return f();
  await ctx.redis.config('SET', 'appendfsync', sc.fsync);
  try {
    return await f();
  } finally {
    await ctx.redis.config('SET', 'appendfsync', 'always');
  }
}

function sayRow(ctx: BenchContext, s: ScenarioResult): void {
  const g = String(s.params['generator']);
  ctx.say(
    `  ${s.name.padEnd(26)} ${g.padEnd(10)} ${Math.round(s.result.rps)} req/s, p99 ${s.result.latency_ms.p99} ms ${JSON.stringify(s.result.status)}; CPU share: generator ${Math.round(s.cpu_share.load_generator * 100)}%, server ${Math.round(s.cpu_share.server * 100)}% of ${s.cpu_share.cores} cores`,
  );
}

/** After the drain: units accepted = units taken, every order in PostgreSQL (or the row-lock sums). */
async function check(ctx: BenchContext, x: Planned, s: ScenarioResult): Promise<void> {
  const label = `${s.name} (${s.params['generator']})`;
  if (x.product_id !== undefined) {
    s.invariant = await ctx.checkWrite(label, x.product_id, {
      accepted_orders: s.result.status['202'] ?? 0,
      // a 503 (outcome unknown) or a request wrk left unanswered may or may not have taken units
      unknown_orders: (s.result.status['503'] ?? 0) + s.unanswered,
      qty: ctx.P.qty,
    });
  } else if (x.rowlock_id !== undefined) {
    const [rl] = await ctx.sql<{ stock: number; rows: number }[]>`
      SELECT stock, (SELECT count(*)::int FROM bench.orders WHERE product_id = ${x.rowlock_id}) AS rows
      FROM bench.products WHERE id = ${x.rowlock_id}`;
    const status5xx = Object.entries(s.result.status)
      .filter(([code]) => code.startsWith('5'))
      .reduce((n, [, c]) => n + c, 0);
    s.invariant = checkRowLock({
      accepted_orders: s.result.status['202'] ?? 0,
      // the baseline's 500s (a pool timeout under load) may come after its transaction committed
      unknown_orders: status5xx + s.unanswered,
      qty: ctx.P.qty,
      stock_before: ROWLOCK_STOCK,
      stock_after: rl!.stock,
      rows: rl!.rows,
    });
    ctx.say(`  invariant ${label}: ${describe(s.invariant)}`);
  }
}
