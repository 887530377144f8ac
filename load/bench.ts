// `npm run bench`: brings up its own local stack (own PORT and DATA_DIR, nothing seeded), a second
// serverless-offline instance with the benchmark-only functions (load/bench/serverless.bench.yml),
// warms up, runs every scenario, checks the invariants after each write scenario, and prints one
// table. Writes load/reports/bench-<time>.json plus latest.json, latest.svg and latest.md.
// Parameters: BENCH_SECONDS (measured seconds per HTTP scenario, in 5 rounds; default 10),
// BENCH_DRAIN_ORDERS (default 100000), LOG_LEVEL (default INFO, as deployed), KEEP_BENCH_DATA=1.
// load/README.md explains the figures.
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { type Proc, startProc, waitFor } from '../infra/local/procs';
import { createOrderQueues, localSqsClient } from '../infra/local/services';
import { offlineInvoker, startSqsTrigger } from '../infra/local/sqs-trigger';
import { ROOT, type Stack, startStack } from '../infra/local/stack';
import { ensureCommands } from '../infra/local/tools';
import queues from '../infra/queues.json' with { type: 'json' };
import { resetConfig } from '../lib/config';
import { mintToken } from '../lib/http/auth';
import { redisInventory } from '../lib/inventory/inventory';
import { registerScripts } from '../lib/inventory/scripts';
import { type AbResult, runAb } from './bench/ab';
import { type ColdStartResult, coldStart } from './bench/cold-start';
import { type CostReport, costPerMillionOrders } from './bench/cost';
import { drainThroughTrigger, rawReceiveDelete, reserveBacklog, sendAll } from './bench/drain';
import { orderEvent } from './bench/events';
import type { HandlerLevelResult, HandlerSpec } from './bench/handler-level';
import {
  child,
  type HttpScenario,
  load,
  measureInto,
  newHttpAcc,
  type Req,
  round2,
  type ScenarioResult,
  summarize,
} from './bench/http';
import { type AuditFigures, checkRowLock, checkWrite, describe } from './bench/invariants';
import { basePort, type MachineInfo, machineInfo } from './bench/machine';
import {
  type HandlerRow,
  type HttpRow,
  markdownTables,
  pct,
  svgChart,
  type TargetRow,
  textTables,
} from './bench/report';
import { ROW_LOCK_SCHEMA_SQL } from './bench/row-lock';

const P = {
  connections: 100,
  measure_s: Number(process.env['BENCH_SECONDS'] ?? 10),
  rounds: 5,
  warmup_s: 3,
  buyer_tokens: 1000,
  handler_warmup_s: 2,
  handler_duration_s: 4,
  handler_in_flight: [1, 10, 100],
  drain_orders: Number(process.env['BENCH_DRAIN_ORDERS'] ?? 100_000),
  log_level: process.env['LOG_LEVEL'] ?? 'INFO',
  rowlock_pool_max: 16,
  qty: 1,
  ab: { n: 1000, c: 100, stock: 1000, qty: 2 },
};

const REPORTS = join(ROOT, 'load/reports');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const t_start = Date.now();
const elapsed = () => `${((Date.now() - t_start) / 1000).toFixed(0)}s`;
const say = (m: string) => process.stdout.write(`[bench ${elapsed().padStart(4)}] ${m}\n`);

async function main(): Promise<void> {
  // Every figure is measured or the bench stops: the load tools are installed like Redis is.
  ensureCommands({ ab: 'apache2-utils', wrk: 'wrk' }, (m) => say(m));
  const machine = machineInfo(ROOT);
  say(
    `${machine.cpu_model} x${machine.cpus}, Node ${machine.node}, load average ${machine.loadavg_1m_at_start}`,
  );
  const dataDir = mkdtempSync(join(tmpdir(), 'flash-sale-bench-'));
  chmodSync(dataDir, 0o755); // PostgreSQL runs as the postgres user and must reach its folder
  const port = await basePort();
  process.env['LOG_LEVEL'] = P.log_level;
  let stack: Stack | undefined;
  let benchOffline: ReturnType<typeof startProc> | undefined;
  try {
    stack = await startStack({
      port,
      dataDir,
      serve: true,
      seed: false,
      // Per-customer and per-IP limits off, as for the reference's `ab` run (one token, one IP).
      env: {
        REDIS_KEY_PREFIX: 'fsb',
        LOG_LEVEL: P.log_level,
        RATE_LIMIT_CUSTOMER_RPS: '0',
        RATE_LIMIT_IP_RPS: '0',
      },
      say: (m) => say(`  ${m}`),
    });
    Object.assign(process.env, stack.env);
    resetConfig();
    const benchPort = await basePort(port + 20);
    benchOffline = await startBenchOffline(stack, benchPort);
    await run(stack, benchOffline, benchPort, machine, dataDir);
  } finally {
    await benchOffline?.stop('SIGINT');
    await stack?.stop();
    if (!process.env['KEEP_BENCH_DATA']) rmSync(dataDir, { recursive: true, force: true });
  }
  say(`done in ${elapsed()}`);
  process.exit(process.exitCode ?? 0); // nothing of ours is left running; do not wait for stray sockets
}

async function run(
  stack: Stack,
  benchOffline: Proc,
  benchPort: number,
  machine: MachineInfo,
  dataDir: string,
): Promise<void> {
  const api = apiClient(stack.baseUrl, await mintToken({ customer_id: 'bench-admin', admin: true }));
  const sql = postgres(stack.env['DATABASE_URL']!, { max: 4, onnotice: () => {} });
  const redis = new Redis(stack.env['REDIS_URL']!);
  const sqs = localSqsClient(stack.env['SQS_ENDPOINT']!);
  const benchUrl = `http://127.0.0.1:${benchPort}`;
  try {
    // The reference's product first, so it is product 1 exactly as in its `ab` command.
    const abProduct = await api.product({ stock_total: P.ab.stock, max_per_order: 10 });
    const p = {
      warm: await api.product({ stock_total: 100_000_000 }),
      reserve: await api.product({ stock_total: 100_000_000 }),
      reserveLive: await api.product({ stock_total: 100_000_000 }),
      soldOut: await api.product({ stock_total: 0 }),
      read: await api.product({ stock_total: 1000 }),
      everysec: await api.product({ stock_total: 100_000_000 }),
      handler: await api.product({ stock_total: 100_000_000 }),
      drain: await api.product({ stock_total: P.drain_orders }),
      probe: await api.product({ stock_total: 1000 }),
    };
    await sql.unsafe(ROW_LOCK_SCHEMA_SQL);
    await sql`INSERT INTO bench.products (id, stock) VALUES (1, 100000000), (2, 100000000)
              ON CONFLICT (id) DO UPDATE SET stock = excluded.stock`;
    const tokens = await Promise.all(
      Array.from({ length: P.buyer_tokens }, (_, i) => mintToken({ customer_id: `bench-buyer-${i}` })),
    );
    const post = (path: string, product_id: number, qty = P.qty): Req => ({
      method: 'POST',
      path,
      body: JSON.stringify({ product_id, qty }),
      tokens,
    });
    const cpuGroups = {
      'serverless-offline (product)': [stack.offline!.child.pid!],
      'serverless-offline (bench fns)': [benchOffline.child.pid!],
      fauxqs: [stack.queue!.proc!.child.pid!],
      redis: [stack.redis!.proc.child.pid!],
      postgres: 'postgres',
    };
    const writeCheck = async (s: ScenarioResult, product_id: number, qty = P.qty) => {
      const t = performance.now();
      const audit = await drained(api, product_id);
      s.params['drain_after_s'] = round2((performance.now() - t) / 1000);
      const [row] = await sql<
        { n: number }[]
      >`SELECT count(*)::int AS n FROM orders WHERE product_id = ${product_id}`;
      s.invariant = checkWrite({
        accepted_orders: s.result.status['202'] ?? 0,
        unknown_orders: s.result.status['503'] ?? 0,
        qty,
        audit,
        pg_orders: row!.n,
      });
      say(`  invariant ${s.name}: ${describe(s.invariant)}`);
    };

    // ---- HTTP scenarios ----------------------------------------------------------------------
    // Each scenario: a warm-up run (its rate sizes the measured runs), then `rounds` measured runs
    // of a fixed number of requests, taken in turns with the other scenarios so that whatever else
    // loads the machine meanwhile falls on all of them alike. The consumer side is paused.
    const scenarios: HttpScenario[] = [
      { name: 'floor (trivial fn)', url: benchUrl, req: post('/bench/floor', p.warm.id) },
      {
        name: 'reserve',
        url: stack.baseUrl,
        req: post('/api/orders', p.reserve.id),
        warm: post('/api/orders', p.warm.id),
      },
      {
        name: 'reserve, AOF everysec',
        url: stack.baseUrl,
        req: post('/api/orders', p.everysec.id),
        warm: post('/api/orders', p.warm.id),
        fsync: 'everysec',
      },
      { name: 'sold out (all 409)', url: stack.baseUrl, req: post('/api/orders', p.soldOut.id) },
      {
        name: 'product read',
        url: stack.baseUrl,
        req: { method: 'GET', path: `/api/products/${p.read.id}` },
      },
      {
        name: 'row-lock baseline',
        url: benchUrl,
        req: post('/bench/row-lock/orders', 1),
        warm: post('/bench/row-lock/orders', 2),
      },
    ];
    const setFsync = (v: 'always' | 'everysec') => redis.config('SET', 'appendfsync', v);
    await pauseConsumer(stack);
    say(
      `warming every route (${P.warmup_s} s each); then ${P.rounds} rounds of about ${P.measure_s / P.rounds} s each`,
    );
    const amounts = new Map<HttpScenario, number>();
    for (const sc of scenarios) {
      if (sc.fsync) await setFsync(sc.fsync);
      const w = await load({ url: sc.url, requests: sc.warm ?? sc.req, duration_s: P.warmup_s }, P);
      if (sc.fsync) await setFsync('always');
      // A fixed number of requests per round: every request sent is answered and counted, which
      // the invariant checks rely on.
      amounts.set(sc, Math.max(P.connections * 10, Math.round((w.rps * P.measure_s) / P.rounds)));
    }
    const acc = new Map(scenarios.map((sc) => [sc, newHttpAcc()]));
    for (let r = 0; r < P.rounds; r++) {
      for (const sc of scenarios) {
        if (sc.fsync) await setFsync(sc.fsync);
        await measureInto(acc.get(sc)!, sc, amounts.get(sc)!, cpuGroups, P);
        if (sc.fsync) await setFsync('always');
      }
    }
    const fsync = (await redis.config('GET', 'appendfsync')) as string[];
    const http: ScenarioResult[] = scenarios.map((sc) => {
      const res = summarize(sc, acc.get(sc)!, amounts.get(sc)!, P);
      say(
        `${sc.name.padEnd(26)} ${Math.round(res.result.rps)} req/s, p99 ${res.result.latency_ms.p99} ms ${JSON.stringify(res.result.status)}`,
      );
      return res;
    });
    say(`  redis appendfsync is ${fsync[1]} again`);
    const [floor, reserve, everysec, soldOut, , rowLock] = http as [
      ScenarioResult,
      ScenarioResult,
      ScenarioResult,
      ScenarioResult,
      ScenarioResult,
      ScenarioResult,
    ];
    await resumeConsumer(stack, sqs);
    await drained(api, p.warm.id);
    await writeCheck(reserve, p.reserve.id);
    await writeCheck(everysec, p.everysec.id);
    await writeCheck(soldOut, p.soldOut.id);
    const [rl] = await sql<{ stock: number; rows: number }[]>`
      SELECT stock, (SELECT count(*)::int FROM bench.orders WHERE product_id = 1) AS rows FROM bench.products WHERE id = 1`;
    rowLock.invariant = checkRowLock({
      accepted_orders: rowLock.result.status['202'] ?? 0,
      qty: P.qty,
      stock_before: 100_000_000,
      stock_after: rl!.stock,
      rows: rl!.rows,
    });
    say(`  invariant ${rowLock.name}: ${describe(rowLock.invariant)}`);

    // The whole system at once: the same reserve load while the consumer persists behind it.
    const live: HttpScenario = {
      name: 'reserve, consumer running',
      url: stack.baseUrl,
      req: post('/api/orders', p.reserveLive.id),
    };
    const liveAcc = newHttpAcc();
    const liveAmount = amounts.get(scenarios[1]!)! * P.rounds;
    await measureInto(liveAcc, live, liveAmount, cpuGroups, P);
    const reserveLive = summarize(live, liveAcc, liveAmount, P);
    reserveLive.params['consumer'] = 'running';
    say(
      `${live.name.padEnd(26)} ${Math.round(reserveLive.result.rps)} req/s, p99 ${reserveLive.result.latency_ms.p99} ms ${JSON.stringify(reserveLive.result.status)}`,
    );
    http.splice(2, 0, reserveLive);
    await writeCheck(reserveLive, p.reserveLive.id);

    // ---- the reference project's exact command ----------------------------------------------
    await pauseConsumer(stack);
    const ab = await runAb(stack.baseUrl, abProduct.id, tokens[0]!, dataDir, P.ab);
    await resumeConsumer(stack, sqs);
    const abAudit = await drained(api, abProduct.id);
    const [abRows] = await sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM orders WHERE product_id = ${abProduct.id}`;
    const abInvariant = checkWrite({
      accepted_orders: ab.accepted,
      // ab cannot tell a 409 from a 503 (outcome unknown): any non-2xx may have taken units
      unknown_orders: ab.non2xx + (P.ab.n - ab.complete),
      qty: P.ab.qty,
      audit: abAudit,
      pg_orders: abRows!.n,
    });
    say(
      `ab: ${ab.rps} req/s, ${ab.accepted} accepted, ${ab.non2xx} non-2xx; invariant: ${describe(abInvariant)}`,
    );

    // ---- handler level ----------------------------------------------------------------------
    await pauseConsumer(stack);
    const handler = await handlerLevel(stack, sqs, p.handler.id, tokens, dataDir);
    await resumeConsumer(stack, sqs);
    const handlerAudit = await drained(api, p.handler.id);
    const [hRows] = await sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM orders WHERE product_id = ${p.handler.id}`;
    const handlerInvariant = checkWrite({
      accepted_orders: handler.create_order_accepted,
      qty: P.qty,
      audit: handlerAudit,
      pg_orders: hRows!.n,
    });
    say(`  invariant: ${describe(handlerInvariant)}`);

    // ---- drain -------------------------------------------------------------------------------
    const drain = await drainScenario(stack, sqs, redis, sql, api, p.drain.id);

    // ---- cold start --------------------------------------------------------------------------
    say('cold start: bundling every function of serverless.yml and loading each in a fresh process');
    // Bundled inside the project (.esbuild/ is ignored by git): the AWS SDK is external, as in
    // Lambda, and a bundle there resolves it from the project's node_modules, standing in for the
    // runtime's copy; loading it is counted in init, as it is in Lambda.
    const cold = await coldStart(
      ROOT,
      join(ROOT, '.esbuild', 'bench-cold-start'),
      stack.env,
      orderEvent(tokens[1]!, p.probe.id),
    );
    for (const b of cold.bundles)
      say(
        `  ${b.function.padEnd(20)} ${(b.bytes / 1024).toFixed(0)} KiB (gzip ${(b.gzip_bytes / 1024).toFixed(0)} KiB), init ${b.init_ms?.toFixed(0)} ms`,
      );

    // ---- report ------------------------------------------------------------------------------
    const floorRps = floor.result.rps;
    const httpRows: HttpRow[] = http.map((s) => ({
      scenario: s.name,
      rps: s.result.rps,
      latency_ms: s.result.latency_ms,
      status: s.result.status,
      vs_floor: s === floor ? null : s.result.rps / floorRps,
      invariant: s.invariant ? (s.invariant.ok ? 'ok' : 'FAILED') : '-',
      cpu: s.cpu_ms_per_request,
    }));
    const sendOnlyAt = (c: number) => handler.runs.find((r) => r.handler === 'sendOnly' && r.in_flight === c);
    const handlerRows: HandlerRow[] = handler.runs.map((r) => ({
      handler: r.handler,
      in_flight: r.in_flight,
      per_s: r.per_s,
      latency_ms: r.duration_ms,
      billed_ms: r.billed_ms,
      cpu_ms: r.cpu_ms_per_invocation,
      vs_send_only:
        r.handler === 'createOrder' ? r.per_s / (sendOnlyAt(r.in_flight)?.per_s ?? Number.NaN) : null,
    }));
    const createAt = (c: number) =>
      handler.runs.find((r) => r.handler === 'createOrder' && r.in_flight === c)!;
    const cost = costPerMillionOrders({
      create_order_billed_ms_mean: createAt(10).billed_ms.mean,
      memory_mb: cold.memory_mb,
      persist_batch_ms_mean: Math.round(drain.persist.invoke_ms_mean * 10) / 10,
      persist_orders_per_batch: drain.persist.records_per_invocation,
      sqs_receive_delete_per_order: 0.2,
    });
    const createBundle = cold.bundles.find((b) => b.function === 'createOrder')!;
    const targets = evaluateTargets({
      floor: floorRps,
      reserve: reserve.result.rps,
      rowLock: rowLock.result.rps,
      everysec: everysec.result.rps,
      handler10: createAt(10).per_s / (sendOnlyAt(10)?.per_s ?? Number.NaN),
      handler100: createAt(100).per_s / (sendOnlyAt(100)?.per_s ?? Number.NaN),
      p99at10: createAt(10).duration_ms.p99,
      drain: drain.persist.per_s / drain.raw.per_s,
      bundle: createBundle.bytes,
      init: createBundle.init_ms ?? Number.NaN,
      cost: cost.request_path_usd_per_million,
    });
    const invariantsOk =
      [reserve, reserveLive, soldOut, rowLock, everysec].every((s) => s.invariant?.ok) &&
      abInvariant.ok &&
      handlerInvariant.ok &&
      drain.invariant.ok;
    const report = {
      generated_at: new Date().toISOString(),
      duration_s: (Date.now() - t_start) / 1000,
      machine: { ...machine, loadavg_1m_at_end: round2(loadavg()[0]!) },
      parameters: {
        ...P,
        serverless_offline:
          'in-process (useInProcess: true), esbuild bundles, one warm container per function',
        redis_appendfsync: 'always (everysec only for the durability row)',
        queue: queues,
        load_generator: 'autocannon (HDR histogram), own process, keep-alive connections',
      },
      http: http.map((s) => ({ ...s, vs_floor: s === floor ? null : s.result.rps / floorRps })),
      ab: { ...ab, invariant: abInvariant },
      handler_level: { ...handler, invariant: handlerInvariant },
      drain,
      cold_start: cold,
      cost,
      targets,
      invariants_ok: invariantsOk,
    };
    writeReports(report, httpRows, handlerRows, targets, drain, cost, cold, ab, machine);
    if (!invariantsOk) {
      say('AN INVARIANT CHECK FAILED: see the table above and the JSON report');
      process.exitCode = 1;
    }
  } finally {
    await sql.end({ timeout: 2 });
    redis.disconnect();
  }
}

// ---- pieces ------------------------------------------------------------------------------------

/**
 * The consumer side (local SQS trigger -> persistOrders -> PostgreSQL) is paused while a
 * request-path figure is measured: in AWS it runs on other Lambda containers and RDS, here it would
 * take the same two cores. Each backlog is drained (and timed) right after.
 */
async function pauseConsumer(stack: Stack): Promise<void> {
  await stack.trigger?.stop();
  stack.trigger = null;
}

async function resumeConsumer(stack: Stack, sqs: ReturnType<typeof localSqsClient>): Promise<void> {
  if (stack.trigger) return;
  const queueUrl = stack.env['ORDERS_QUEUE_URL']!;
  const arn = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  stack.trigger = startSqsTrigger({
    sqs,
    queueUrl,
    queueArn: arn.Attributes!['QueueArn']!,
    invoke: offlineInvoker(stack.lambdaPort, 'flash-sale-dev-persistOrders'),
    batch_size: queues.batch_size,
    maximum_batching_window_s: queues.maximum_batching_window_s,
    maximum_concurrency: queues.maximum_concurrency,
  });
}

async function startBenchOffline(stack: Stack, port: number) {
  const sls = join(ROOT, 'node_modules/osls/bin/serverless.js');
  const args = [
    sls, 'offline', 'start',
    '--config', 'serverless.bench.yml',
    '--httpPort', String(port),
    '--lambdaPort', String(port + 2),
    '--websocketPort', String(port + 1),
    '--albPort', String(port + 3),
    '--host', '127.0.0.1',
  ]; // biome-ignore format: flag/value pairs
  const proc = startProc(`bench-offline-${port}`, process.execPath, args, {
    logDir: stack.logDir,
    cwd: join(ROOT, 'load/bench'),
    env: {
      ...process.env,
      ...stack.env,
      ROWLOCK_POOL_MAX: String(P.rowlock_pool_max),
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
    },
  });
  await waitFor(
    'bench serverless offline',
    async () => {
      if (proc.child.exitCode !== null) throw new Error('bench offline exited; see its log');
      return (await fetch(`http://127.0.0.1:${port}/bench/floor`, { method: 'POST', body: '{}' })).ok;
    },
    120_000,
  );
  say(`  bench fns    http://127.0.0.1:${port} (floor, row-lock; load/bench/serverless.bench.yml)`);
  return proc;
}

function apiClient(baseUrl: string, adminToken: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text);
  };
  return {
    product: (p: { stock_total: number; max_per_order?: number }) =>
      call('POST', '/api/admin/products', {
        sku: `BENCH-${randomUUID()}`,
        name: 'bench product',
        price_cents: 100,
        currency: 'EUR',
        max_per_order: 10,
        ...p,
      }) as Promise<{ id: number }>,
    audit: (id: number) => call('GET', `/api/admin/products/${id}/audit`) as Promise<AuditFigures>,
  };
}

/** Waits for every accepted order of the product to reach PostgreSQL; returns the audit then. */
async function drained(api: ReturnType<typeof apiClient>, product_id: number, timeout_ms = 180_000) {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const a = await api.audit(product_id);
    if (a.in_flight === 0) return a;
    if (Date.now() > deadline) throw new Error(`product ${product_id} not drained: ${JSON.stringify(a)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function handlerLevel(
  stack: Stack,
  sqs: ReturnType<typeof localSqsClient>,
  product_id: number,
  tokens: string[],
  dataDir: string,
): Promise<HandlerLevelResult> {
  const q = await sqs.send(new CreateQueueCommand({ QueueName: `bench-send-only-${Date.now()}` }));
  const spec: HandlerSpec = {
    product_id,
    tokens,
    warmup_s: P.handler_warmup_s,
    duration_s: P.handler_duration_s,
    in_flight: P.handler_in_flight,
  };
  const specFile = join(dataDir, 'handler-spec.json');
  const outFile = join(dataDir, 'handler-out.json');
  writeFileSync(specFile, JSON.stringify(spec));
  say(`handler level: createOrder vs send-only, in-process, ${P.handler_in_flight.join('/')} in flight`);
  await child([TSX, join(ROOT, 'load/bench/handler-level.ts'), specFile, outFile], {
    env: { ...process.env, ...stack.env, LOG_LEVEL: P.log_level, BENCH_SEND_ONLY_QUEUE_URL: q.QueueUrl! },
    logFile: join(stack.logDir, 'handler-level.log'),
  });
  const r = JSON.parse(readFileSync(outFile, 'utf8')) as HandlerLevelResult;
  for (const x of r.runs)
    say(
      `  ${x.handler.padEnd(11)} @${String(x.in_flight).padEnd(3)} ${Math.round(x.per_s)}/s p50 ${x.duration_ms.p50} p99 ${x.duration_ms.p99} ms, billed mean ${x.billed_ms.mean} ms, CPU ${x.cpu_ms_per_invocation.toFixed(2)} ms`,
    );
  return r;
}

async function drainScenario(
  stack: Stack,
  sqs: ReturnType<typeof localSqsClient>,
  redis: Redis,
  sql: postgres.Sql,
  api: ReturnType<typeof apiClient>,
  product_id: number,
) {
  const n = P.drain_orders;
  say(`drain: reserving ${n} orders through the domain, then queueing their messages`);
  const client = registerScripts(redis.duplicate());
  const t0 = performance.now();
  const orders = await reserveBacklog(
    redisInventory(client, stack.env['REDIS_KEY_PREFIX']!),
    product_id,
    n,
  ).finally(() => client.disconnect());
  const reserve_s = (performance.now() - t0) / 1000;
  const bodies = orders.map((o) => JSON.stringify(o));
  const stamp = Date.now();
  const drainQ = await createOrderQueues(sqs, {
    queue: `bench-drain-${stamp}`,
    dlq: `bench-drain-dlq-${stamp}`,
  });
  const t1 = performance.now();
  await sendAll(sqs, drainQ.queueUrl, bodies);
  const send_s = (performance.now() - t1) / 1000;
  say(
    `  backlog: ${n} reserved in ${reserve_s.toFixed(1)} s, queued in ${send_s.toFixed(1)} s (SendMessageBatch)`,
  );
  const arn = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: drainQ.queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const persist = await drainThroughTrigger({
    sqs,
    queueUrl: drainQ.queueUrl,
    queueArn: arn.Attributes!['QueueArn']!,
    invoke: offlineInvoker(stack.lambdaPort, 'flash-sale-dev-persistOrders'),
    batch_size: queues.batch_size,
    maximum_batching_window_s: queues.maximum_batching_window_s,
    maximum_concurrency: queues.maximum_concurrency,
    orders: n,
    timeout_ms: 300_000,
    done: async () => {
      const [r] = await sql<
        { n: number }[]
      >`SELECT count(*)::int AS n FROM orders WHERE product_id = ${product_id}`;
      return r!.n >= n;
    },
  });
  say(
    `  persistOrders: ${n} orders in ${persist.seconds.toFixed(1)} s = ${Math.round(persist.per_s)}/s (${persist.invocations} batches, ${persist.invoke_ms_mean.toFixed(0)} ms each)`,
  );
  const audit = await drained(api, product_id);
  const [rows] = await sql<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM orders WHERE product_id = ${product_id}`;
  const invariant = checkWrite({ accepted_orders: orders.length, qty: 1, audit, pg_orders: rows!.n });
  say(`  invariant: ${describe(invariant)}`);
  // The emulator alone, same backlog size, same number of consumers.
  const rawQ = await createOrderQueues(sqs, { queue: `bench-raw-${stamp}`, dlq: `bench-raw-dlq-${stamp}` });
  await sendAll(sqs, rawQ.queueUrl, bodies);
  const raw = await rawReceiveDelete(sqs, rawQ.queueUrl, n, queues.maximum_concurrency);
  say(
    `  fauxqs receive+delete alone: ${raw.messages} in ${raw.seconds.toFixed(1)} s = ${Math.round(raw.per_s)}/s`,
  );
  return { orders: n, backlog_reserve_s: reserve_s, backlog_send_s: send_s, persist, raw, invariant };
}

function evaluateTargets(m: {
  floor: number;
  reserve: number;
  rowLock: number;
  everysec: number;
  handler10: number;
  handler100: number;
  p99at10: number;
  drain: number;
  bundle: number;
  init: number;
  cost: number;
}): TargetRow[] {
  const t = (target: string, goal: string, measured: string, met: boolean) => ({
    target,
    goal,
    measured,
    met,
  });
  return [
    t('reserve over HTTP vs floor', '>= 50%', pct(m.reserve / m.floor), m.reserve / m.floor >= 0.5),
    t(
      'reserve vs row-lock baseline',
      '>= 2x',
      `${(m.reserve / m.rowLock).toFixed(1)}x`,
      m.reserve / m.rowLock >= 2,
    ),
    t('handler: createOrder vs send-only @10', '>= 80%', pct(m.handler10), m.handler10 >= 0.8),
    t('handler: createOrder vs send-only @100', '>= 80%', pct(m.handler100), m.handler100 >= 0.8),
    t('handler: duration p99 @10 in flight', '<= 10 ms', `${m.p99at10} ms`, m.p99at10 <= 10),
    t('drain vs emulator receive+delete', '>= 50%', pct(m.drain), m.drain >= 0.5),
    t(
      'createOrder bundle',
      '<= 1 MB (1,000,000 B)',
      `${m.bundle.toLocaleString('en-US')} B`,
      m.bundle <= 1_000_000,
    ),
    t('createOrder init', '<= 300 ms', `${Math.round(m.init)} ms`, m.init <= 300),
    t(
      'AOF always vs everysec (reserve)',
      '>= 90%',
      pct(m.reserve / m.everysec),
      m.reserve / m.everysec >= 0.9,
    ),
    t('request-path cost per million orders', '<= $2', `$${m.cost.toFixed(2)}`, m.cost <= 2),
  ];
}

function writeReports(
  report: Record<string, unknown>,
  httpRows: HttpRow[],
  handlerRows: HandlerRow[],
  targets: TargetRow[],
  drain: Awaited<ReturnType<typeof drainScenario>>,
  cost: CostReport,
  cold: ColdStartResult,
  ab: AbResult,
  machine: MachineInfo,
): void {
  mkdirSync(REPORTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(join(REPORTS, `bench-${stamp}.json`), json);
  writeFileSync(join(REPORTS, 'latest.json'), json);
  const subtitle = `${machine.cpu_model} x${machine.cpus}, Node ${machine.node}, ${report['generated_at']}; load avg at start ${machine.loadavg_1m_at_start}`;
  writeFileSync(
    join(REPORTS, 'latest.svg'),
    svgChart({
      title: 'flash-sale: npm run bench',
      subtitle,
      http: httpRows,
      handler: handlerRows,
      drain: { persist_per_s: drain.persist.per_s, raw_per_s: drain.raw.per_s },
    }),
  );
  const extra = [
    `drain: ${drain.orders} orders, persistOrders ${Math.round(drain.persist.per_s)}/s (${drain.persist.seconds.toFixed(1)} s, ${drain.persist.invocations} batches of ~${Math.round(drain.persist.records_per_invocation)}, ${drain.persist.invoke_ms_mean.toFixed(0)} ms per batch) vs fauxqs receive+delete ${Math.round(drain.raw.per_s)}/s = ${pct(drain.persist.per_s / drain.raw.per_s)}; invariant ${describe(drain.invariant)}`,
    `cold start (bundle bytes / gzip / init ms): ${cold.bundles.map((b) => `${b.function} ${b.bytes}/${b.gzip_bytes}/${b.init_ms?.toFixed(0)}`).join(', ')}`,
    `createOrder first/second invocation after init: ${cold.create_order_first_invoke_ms?.toFixed(1)} / ${cold.create_order_second_invoke_ms?.toFixed(1)} ms; init without --enable-source-maps ${cold.create_order_init_ms_without_source_maps?.toFixed(0)} ms`,
    `createOrder bundle, heaviest parts: ${cold.create_order_top_packages.map((x) => `${x.name} ${Math.round(x.bytes / 1024)} KiB`).join(', ')}`,
    `reference command: ${ab.command}`,
    `  -> ${ab.rps} req/s, ${ab.complete} complete, ${ab.accepted} accepted (202), ${ab.non2xx} non-2xx (409 sold out), p50 ${ab.percentiles_ms['p50']} ms, p99 ${ab.percentiles_ms['p99']} ms, max ${ab.percentiles_ms['p100']} ms (reference: 56 req/s row locks, 933 req/s Redis + queues, laptop)`,
    `cost per million orders (${cost.prices.as_of}): request path $${cost.request_path_usd_per_million}, with persistence $${cost.total_usd_per_million}`,
    ...cost.lines.map((l) => `    ${l.item}: $${l.usd_per_million_orders}`),
    `  fixed monthly: ${cost.fixed_monthly.map((f) => `${f.item} $${f.usd_per_month}`).join('; ')}`,
  ];
  const text = textTables(httpRows, handlerRows, targets);
  process.stdout.write(`\n${text}\n\n${extra.join('\n')}\n\n`);
  writeFileSync(
    join(REPORTS, 'latest.md'),
    `<!-- generated by npm run bench at ${report['generated_at']} -->\n\n${markdownTables(httpRows, handlerRows, targets)}\n\n${extra.map((e) => `    ${e}`).join('\n')}\n`,
  );
  say(`reports: load/reports/latest.json, latest.svg, latest.md (and bench-${stamp}.json)`);
}

// Ctrl-C: exit through 'exit', whose hook (infra/local/procs.ts) stops every child process.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
