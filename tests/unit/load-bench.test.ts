// Pins down the load-test tooling's own logic (no timing here): the Artillery scenarios parse and
// carry their ensure thresholds and no-oversell after-check, the order-body hook sends numbers, the
// bench's invariant checks catch an oversell or a lost order, and the cost arithmetic adds up.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { call, defaultTarget, SCENARIOS } from '../../load/artillery';
import { costPerMillionOrders, PRICES } from '../../load/bench/cost';
import type { ScenarioResult } from '../../load/bench/http';
import { checkRowLock, checkWrite } from '../../load/bench/invariants';
import type { MachineInfo } from '../../load/bench/machine';
import { targets, writeReports } from '../../load/bench/output';
import type { Results } from '../../load/bench/scenario';
import { childCpuMs } from '../../load/bench/wrk';
import { capacity } from '../../load/capacity';

const dir = join(__dirname, '../../load/scenarios');
const processor = createRequire(import.meta.url)(join(dir, 'processor.cjs'));

describe('Artillery scenarios', () => {
  for (const [name, s] of Object.entries(SCENARIOS)) {
    it(`${name} (${s.file}) has phases, ensure thresholds and the no-oversell after-check`, () => {
      const doc = load(readFileSync(join(dir, s.file), 'utf8')) as any;
      expect(doc.config.phases.length).toBeGreaterThan(0);
      for (const ph of doc.config.phases) expect(ph.arrivalRate).toBeGreaterThan(0);
      expect(doc.config.plugins).toHaveProperty('ensure');
      expect(doc.config.ensure.thresholds.some((t: object) => 'http.response_time.p99' in t)).toBe(true);
      expect(doc.config.ensure.maxErrorRate).toBeTypeOf('number');
      expect(doc.after.flow).toContainEqual({ function: 'checkNoOversell' });
      expect(typeof processor[doc.after.flow[0].function]).toBe('function');
    });
  }

  it('the spike scenario has warm-up, spike and sustained phases', () => {
    const doc = load(readFileSync(join(dir, SCENARIOS.spike.file), 'utf8')) as any;
    const rates = doc.config.phases.map((p: any) => p.arrivalRate);
    expect(rates).toHaveLength(3);
    expect(rates[1]).toBeGreaterThan(rates[0]);
    expect(rates[1]).toBeGreaterThan(rates[2]);
  });

  it('buildOrder sends product_id and qty as integers within max_qty', () => {
    for (let i = 0; i < 20; i++) {
      const req: any = {};
      processor.buildOrder(req, { vars: { product_id: '42', max_qty: 3 } }, null, () => {});
      expect(req.json.product_id).toBe(42);
      expect(Number.isInteger(req.json.qty) && req.json.qty >= 1 && req.json.qty <= 3).toBe(true);
    }
  });
});

describe('npm run load: where it sends the load', () => {
  it('defaults to the port of the stack on DATA_DIR, as the CLI does; PORT wins; else 3000', () => {
    const data = mkdtempSync(join(tmpdir(), 'load-target-'));
    try {
      // failed before: http://localhost:3000 whatever stack-env.json said
      expect(defaultTarget({ DATA_DIR: data })).toBe('http://localhost:3000');
      writeFileSync(join(data, 'stack-env.json'), JSON.stringify({ PORT: '3470' }));
      expect(defaultTarget({ DATA_DIR: data })).toBe('http://localhost:3470');
      expect(defaultTarget({ DATA_DIR: data, PORT: '3900' })).toBe('http://localhost:3900');
      writeFileSync(join(data, 'stack-env.json'), 'not json');
      expect(defaultTarget({ DATA_DIR: data })).toBe('http://localhost:3000');
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('a target that does not answer is named, not a bare "fetch failed"', async () => {
    const server = createServer();
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const { port } = server.address() as AddressInfo;
    await new Promise((ok) => server.close(ok)); // a port nothing listens on
    await expect(call(`http://127.0.0.1:${port}`, 't', 'POST', '/api/admin/products', {})).rejects.toThrow(
      `POST http://127.0.0.1:${port}/api/admin/products: ECONNREFUSED: is the stack running there?`,
    );
  });
});

describe('bench invariant checks', () => {
  const audit = {
    stock_total: 1000,
    available: 0,
    reserved: 1000,
    paid: 0,
    in_flight: 0,
    drift: 0,
    ok: true,
  };

  it('passes when accepted units equal taken units and PostgreSQL has every order', () => {
    expect(checkWrite({ accepted_orders: 500, qty: 2, audit, pg_orders: 500 }).ok).toBe(true);
  });

  it('fails on an oversell: more units taken than the 202s account for', () => {
    const r = checkWrite({ accepted_orders: 499, qty: 2, audit, pg_orders: 499 });
    expect(r.ok).toBe(false);
    expect(r.checks.find((c) => !c.ok)?.name).toBe('units accepted = units taken');
  });

  it('fails on a lost acceptance, something still in flight, or audit drift', () => {
    expect(checkWrite({ accepted_orders: 500, qty: 2, audit, pg_orders: 499 }).ok).toBe(false);
    expect(
      checkWrite({ accepted_orders: 500, qty: 2, audit: { ...audit, in_flight: 2 }, pg_orders: 500 }).ok,
    ).toBe(false);
    expect(
      checkWrite({ accepted_orders: 500, qty: 2, audit: { ...audit, drift: 1, ok: false }, pg_orders: 500 })
        .ok,
    ).toBe(false);
  });

  it('a 503 (outcome unknown) may or may not have taken units, but whatever it took is in PostgreSQL', () => {
    // 499 x 202 and one 503 whose reservation happened: 1000 units taken, 500 rows
    expect(checkWrite({ accepted_orders: 499, unknown_orders: 1, qty: 2, audit, pg_orders: 500 }).ok).toBe(
      true,
    );
    // the same, but the unknown order never reached PostgreSQL: a lost acceptance
    expect(checkWrite({ accepted_orders: 499, unknown_orders: 1, qty: 2, audit, pg_orders: 499 }).ok).toBe(
      false,
    );
    // units beyond what the 202s and 503s could account for: an oversell
    expect(checkWrite({ accepted_orders: 498, unknown_orders: 1, qty: 2, audit, pg_orders: 500 }).ok).toBe(
      false,
    );
  });

  it('row-lock baseline: units taken from the row equal the 202s and the rows written', () => {
    expect(
      checkRowLock({ accepted_orders: 10, qty: 1, stock_before: 100, stock_after: 90, rows: 10 }).ok,
    ).toBe(true);
    expect(
      checkRowLock({ accepted_orders: 10, qty: 1, stock_before: 100, stock_after: 89, rows: 10 }).ok,
    ).toBe(false);
  });

  it('row-lock baseline: an unanswered request may have committed, but its row is there', () => {
    const base = { accepted_orders: 10, unknown_orders: 2, qty: 1, stock_before: 100 };
    expect(checkRowLock({ ...base, stock_after: 89, rows: 11 }).ok).toBe(true);
    expect(checkRowLock({ ...base, stock_after: 87, rows: 13 }).ok).toBe(false);
    expect(checkRowLock({ ...base, stock_after: 89, rows: 10 }).ok).toBe(false);
  });
});

describe('cost per million orders', () => {
  it('adds API Gateway, Lambda and SQS at the stated prices', () => {
    const c = costPerMillionOrders({
      create_order_billed_ms_mean: 10,
      memory_mb: 1024,
      persist_batch_ms_mean: 100,
      persist_orders_per_batch: 100,
      sqs_receive_delete_per_order: 0.2,
    });
    // 1M x 1 GB x 0.01 s x price per GB-s
    const duration = 1_000_000 * 0.01 * PRICES.lambda_arm_usd_per_gb_s;
    const expected =
      PRICES.http_api_usd_per_million +
      PRICES.lambda_request_usd_per_million +
      duration +
      PRICES.sqs_usd_per_million;
    expect(c.request_path_usd_per_million).toBeCloseTo(expected, 2);
    expect(c.total_usd_per_million).toBeGreaterThan(c.request_path_usd_per_million);
    expect(c.fixed_monthly.every((f) => f.usd_per_month > 0)).toBe(true);
  });
});

describe('bench targets and generators', () => {
  const row = (name: string, generator: string, rps: number) =>
    ({ name, params: { generator }, result: { rps } }) as unknown as ScenarioResult;

  it('judges an HTTP target on the less flattering of the two generators', () => {
    const t = targets(
      {
        http: [
          row('floor (trivial fn)', 'autocannon', 1000),
          row('reserve', 'autocannon', 600),
          row('floor (trivial fn)', 'wrk', 2000),
          row('reserve', 'wrk', 800),
        ],
      },
      null,
    );
    const floor = t.find((x) => x.target === 'reserve over HTTP vs floor')!;
    expect(floor.measured).toMatch(/^40% /); // wrk's 800/2000, not autocannon's 60 %
    expect(floor.met).toBe(false);
  });

  it('a target whose scenario did not run is not measured, and not met', () => {
    const t = targets({}, null);
    expect(t.length).toBeGreaterThan(5);
    for (const x of t) {
      expect(x.measured).toMatch(/not measured/);
      expect(x.met).toBe(false);
    }
  });

  it("reads wrk's CPU from its shell's /proc stat line (cutime + cstime, in ticks)", () => {
    // pid (comm) state ppid ... utime(14) stime(15) cutime(16) cstime(17): 123 + 7 ticks of 10 ms
    const stat = '4242 (sh) S 1 4242 4242 0 -1 4194304 100 200 0 0 1 0 123 7 20 0 1 0 100 1000 100';
    expect(childCpuMs(`noise\n${stat}\n`)).toBe(1300);
    expect(() => childCpuMs('wrk: command not found')).toThrow();
  });
});

describe('capacity model', () => {
  const results = {
    redis: {
      runs: [
        {
          case: 'one',
          products: 1,
          clients: 50,
          calls: 1,
          seconds: 1,
          per_s: 2000,
          redis_cpu_ms_per_call: 0.2,
          appendfsync: 'always',
        },
        {
          case: 'many',
          products: 100,
          clients: 50,
          calls: 1,
          seconds: 1,
          per_s: 2000,
          redis_cpu_ms_per_call: 0.05,
          appendfsync: 'always',
        },
      ],
    },
    handler: {
      runs: [
        { handler: 'createOrder', in_flight: 1, duration_ms: { mean: 1.5 }, cpu_ms_per_invocation: 0.8 },
      ],
    },
    drain: { persist: { records_per_invocation: 100, invoke_ms_mean: 20 } },
  } as unknown as Results;

  it('derives each ceiling from the measured figures and finds what breaks first', () => {
    const c = capacity(results);
    expect(c.measured.redis_one_product_per_s).toBeCloseTo(5000); // one core / 0.2 ms
    expect(c.measured.redis_many_products_per_s).toBeCloseTo(20_000);
    expect(c.measured.pg_writer_per_s).toBeCloseTo(5000); // 100 orders per 20 ms
    expect(c.split_product_above_per_s).toBeCloseTo(5000);
    const [r10k, r100k, r1m] = c.rows;
    expect(r10k!.breaks_first).toBe('nothing at default quotas'); // 10,000 is within the 10,000 rps quota
    expect(r10k!.one_product_breaks_first).toMatch(/^one Redis shard \(one product\)/);
    expect(r100k!.breaks_first).toMatch(/^API Gateway/);
    expect(r100k!.needs['Redis shards']).toMatch(/^5 primaries/);
    expect(r1m!.needs['createOrder concurrency']).toMatch(/^10,000 \(above/);
  });

  it('refuses a report without the scenarios it needs', () => {
    expect(() => capacity({ handler: results.handler, drain: results.drain })).toThrow(/--only redis/);
  });
});

describe('bench report files', () => {
  it('writes the flame graph beside the report, names its top packages, and keeps the SVG out of the JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><text>createOrder</text></svg>';
    const results = {
      handler: {
        runs: [],
        create_order_accepted: 10,
        invariant: { ok: true, problems: [] },
        flame: {
          seconds: 2,
          invocations: 10,
          sampled_ms: 5,
          by_package: [{ name: 'ioredis', share: 0.5 }],
          svg,
        },
      },
    } as unknown as Results;
    const machine = { cpu_model: 'test', cpus: 2, node: 'v24', loadavg_1m_at_start: 0 } as MachineInfo;
    const { files } = writeReports({
      dir,
      results,
      header: {},
      machine,
      scenarios: ['handler'],
      partial: true,
    });
    const flameFile = readdirSync(dir).find((f) => f.endsWith('-handler-flame.svg'))!;
    expect(files).toContain(flameFile);
    expect(readFileSync(join(dir, flameFile), 'utf8')).toBe(svg);
    const md = readFileSync(join(dir, flameFile.replace('-flame.svg', '.md')), 'utf8');
    expect(md).toContain(`![createOrder flame graph](${flameFile})`);
    expect(md).toContain('ioredis 50%');
    const json = readdirSync(dir).find((f) => f.endsWith('.json'))!;
    const report = JSON.parse(readFileSync(join(dir, json), 'utf8'));
    expect(report.handler.flame).toMatchObject({
      invocations: 10,
      by_package: [{ name: 'ioredis', share: 0.5 }],
    });
    expect(report.handler.flame.svg).toBeUndefined();
    rmSync(dir, { recursive: true });
  });
});
