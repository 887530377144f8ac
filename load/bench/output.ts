// From the results of the scenarios that ran to the report: table rows, the target table (each
// target's scenario must have run, else its row says "not measured"), the cost estimate, and the
// files in load/reports (JSON, Markdown, SVG). HTTP targets are judged on the less flattering of
// the two load generators.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CostReport, costPerMillionOrders } from './cost';
import type { ScenarioResult } from './http';
import { describe } from './invariants';
import type { MachineInfo } from './machine';
import {
  type ExtraPanel,
  type ExtraTable,
  type HandlerRow,
  type HttpRow,
  markdownTables,
  pct,
  svgChart,
  type TargetRow,
  textTables,
} from './report';
import type { Results } from './scenario';

const http = (r: Results, name: string, g: string) =>
  r.http?.find((s) => s.name === name && s.params['generator'] === g);

/** The ratio a/b for each generator, and the lower of them (the less flattering figure). */
function worstRatio(
  r: Results,
  a: string,
  b: string,
  show: (v: number) => string,
): { worst: number; by: string } | null {
  const ratios = ['autocannon', 'wrk'].flatMap((g) => {
    const x = http(r, a, g);
    const y = http(r, b, g);
    return x && y ? [{ g, v: x.result.rps / y.result.rps }] : [];
  });
  if (ratios.length === 0) return null;
  const w = ratios.reduce((m, x) => (x.v < m.v ? x : m));
  return { worst: w.v, by: ratios.map((x) => `${x.g} ${show(x.v)}`).join(', ') };
}

export function httpRows(r: Results): HttpRow[] {
  return (r.http ?? []).map((s) => {
    const floor = http(r, 'floor (trivial fn)', String(s.params['generator']));
    const isFloor = s.name.startsWith('floor');
    return {
      scenario: `${s.name} [${s.params['generator']}]`,
      rps: s.result.rps,
      latency_ms: s.result.latency_ms,
      status: s.result.status,
      vs_floor: isFloor || !floor ? null : s.result.rps / floor.result.rps,
      invariant: s.invariant ? (s.invariant.ok ? 'ok' : 'FAILED') : '-',
      cpu: s.cpu_ms_per_request,
      cpu_share: s.cpu_share,
    };
  });
}

function handlerRows(r: Results): HandlerRow[] {
  const runs = r.handler?.runs ?? [];
  const sendOnly = (c: number) => runs.find((x) => x.handler === 'sendOnly' && x.in_flight === c);
  return runs.map((x) => ({
    handler: x.handler,
    in_flight: x.in_flight,
    per_s: x.per_s,
    latency_ms: x.duration_ms,
    billed_ms: x.billed_ms,
    cpu_ms: x.cpu_ms_per_invocation,
    vs_send_only: x.handler === 'createOrder' ? x.per_s / (sendOnly(x.in_flight)?.per_s ?? Number.NaN) : null,
  }));
}

function cost(r: Results): CostReport | null {
  const create10 = r.handler?.runs.find((x) => x.handler === 'createOrder' && x.in_flight === 10);
  if (!create10 || !r.drain || !r.cold) return null;
  return costPerMillionOrders({
    create_order_billed_ms_mean: create10.billed_ms.mean,
    memory_mb: r.cold.memory_mb,
    persist_batch_ms_mean: Math.round(r.drain.persist.invoke_ms_mean * 10) / 10,
    persist_orders_per_batch: r.drain.persist.records_per_invocation,
    sqs_receive_delete_per_order: 0.2,
  });
}

export function targets(r: Results, c: CostReport | null): TargetRow[] {
  const rows: TargetRow[] = [];
  const t = (
    target: string,
    goal: string,
    v: number | null | undefined,
    show: (v: number) => string,
    ok: (v: number) => boolean,
    by = '',
  ) =>
    rows.push(
      v === null || v === undefined || Number.isNaN(v)
        ? { target, goal, measured: 'not measured (scenario not run)', met: false }
        : { target, goal, measured: `${show(v)}${by ? ` (${by})` : ''}`, met: ok(v) },
    );
  const ratio = (
    a: string,
    b: string,
    target: string,
    goal: string,
    min: number,
    show: (v: number) => string = pct,
  ) => {
    const w = worstRatio(r, a, b, show);
    t(target, goal, w?.worst, show, (v) => v >= min, w?.by);
  };
  ratio('reserve', 'floor (trivial fn)', 'reserve over HTTP vs floor', '>= 50%', 0.5);
  ratio('reserve', 'send-only fn', 'reserve over HTTP vs send-only fn (consumer paused)', '>= 80%', 0.8);
  ratio(
    'reserve',
    'row-lock baseline',
    'reserve vs row-lock baseline',
    '>= 2x',
    2,
    (v) => `${v.toFixed(1)}x`,
  );
  ratio('reserve', 'reserve, AOF everysec', 'AOF always vs everysec (reserve)', '>= 90%', 0.9);
  const h = r.handler?.runs ?? [];
  const at = (name: string, c: number) => h.find((x) => x.handler === name && x.in_flight === c);
  for (const c of [10, 100])
    t(
      `handler: createOrder vs send-only @${c}`,
      '>= 80%',
      (at('createOrder', c)?.per_s ?? Number.NaN) / (at('sendOnly', c)?.per_s ?? Number.NaN),
      pct,
      (v) => v >= 0.8,
    );
  t(
    'handler: createOrder CPU vs send-only @1',
    '<= 120%',
    (at('createOrder', 1)?.cpu_ms_per_invocation ?? Number.NaN) /
      (at('sendOnly', 1)?.cpu_ms_per_invocation ?? Number.NaN),
    pct,
    (v) => v <= 1.2,
  );
  t(
    'handler: duration p99 @10 in flight',
    '<= 10 ms',
    at('createOrder', 10)?.duration_ms.p99,
    (v) => `${v} ms`,
    (v) => v <= 10,
  );
  const sdk = (variant: string) =>
    r.sdk?.runs.find((x) => x.variant === variant && x.in_flight === 1)?.cpu_ms_per_send;
  t(
    'SDK SendMessage CPU vs hand-signed @1',
    '<= 2x',
    (sdk('sdk') ?? Number.NaN) / (sdk('hand-signed') ?? Number.NaN),
    (v) => `${v.toFixed(2)}x`,
    (v) => v <= 2,
  );
  t(
    'drain vs emulator receive+delete',
    '>= 50%',
    r.drain ? r.drain.persist.per_s / r.drain.raw.per_s : null,
    pct,
    (v) => v >= 0.5,
  );
  const create = r.cold?.bundles.find((b) => b.function === 'createOrder');
  t(
    'createOrder bundle',
    '<= 500 KB (500,000 B)',
    create?.bytes,
    (v) => `${v.toLocaleString('en-US')} B`,
    (v) => v <= 500_000,
  );
  const first = r.cold?.create_order_first_invoke_ms;
  t(
    'createOrder init + first invocation',
    '<= 120 ms',
    create?.init_ms != null && first != null ? create.init_ms + first : null,
    (v) => `${Math.round(v)} ms`,
    (v) => v <= 120,
  );
  t(
    'request-path cost per million orders',
    '<= $2',
    c?.request_path_usd_per_million,
    (v) => `$${v.toFixed(2)}`,
    (v) => v <= 2,
  );
  return rows;
}

function extraTables(r: Results): ExtraTable[] {
  const out: ExtraTable[] = [];
  if (r.sdk)
    out.push({
      head: ['SDK isolation (same Node, fauxqs, keep-alive)', 'in flight', 'sends', 'per s', 'CPU ms/send'],
      rows: r.sdk.runs.map((x) => [
        x.variant,
        String(x.in_flight),
        String(x.sends),
        String(Math.round(x.per_s)),
        x.cpu_ms_per_send.toFixed(3),
      ]),
    });
  if (r.redis)
    out.push({
      head: [
        'Redis ceiling: reserve.lua direct',
        'products',
        'clients',
        'calls',
        'calls/s',
        'Redis CPU ms/call',
        'appendfsync',
      ],
      rows: r.redis.runs.map((x) => [
        x.case,
        String(x.products),
        String(x.clients),
        String(x.calls),
        String(Math.round(x.per_s)),
        x.redis_cpu_ms_per_call.toFixed(3),
        x.appendfsync,
      ]),
    });
  return out;
}

function extraPanels(r: Results): ExtraPanel[] {
  const out: ExtraPanel[] = [];
  if (r.sdk)
    out.push({
      title: 'SDK isolation: CPU per SendMessage (µs), SDK vs hand-signed SigV4 POST',
      unit: 'µs',
      bars: r.sdk.runs.map((x) => ({
        label: `${x.variant} @${x.in_flight}`,
        value: x.cpu_ms_per_send * 1000,
        note: `${Math.round(x.per_s)}/s`,
        color: x.variant === 'sdk' ? '#2b6cb0' : '#9aa5b1',
      })),
    });
  if (r.redis)
    out.push({
      title: 'One Redis running reserve.lua directly (calls/s, AOF as stated)',
      unit: '/s',
      bars: r.redis.runs.map((x) => ({
        label: x.case,
        value: x.per_s,
        note: `${x.redis_cpu_ms_per_call.toFixed(3)} ms Redis CPU/call`,
        color: '#c53030',
      })),
    });
  return out;
}

const cpuText = (c: Record<string, number> | undefined) =>
  c
    ? Object.entries(c)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
    : 'not sampled';

function lines(r: Results, c: CostReport | null, flame_file: string | null): string[] {
  const out: string[] = [];
  const f = r.handler?.flame;
  if (f && flame_file)
    out.push(
      `createOrder CPU profile, 1 in flight (${f.invocations} invocations, ${f.sampled_ms.toFixed(0)} ms sampled, after the measured rounds): ${flame_file}; self time: ${f.by_package.map((p) => `${p.name} ${pct(p.share)}`).join(', ')}`,
    );
  const d = r.drain;
  if (d)
    out.push(
      `drain: ${d.orders} orders, persistOrders ${Math.round(d.persist.per_s)}/s (${d.persist.seconds.toFixed(1)} s, ${d.persist.invocations} batches of ~${Math.round(d.persist.records_per_invocation)}, ${d.persist.invoke_ms_mean.toFixed(0)} ms per batch, ${d.persist.in_flight_mean.toFixed(2)} in flight on average) vs fauxqs receive+delete ${Math.round(d.raw.per_s)}/s = ${pct(d.persist.per_s / d.raw.per_s)}; invariant ${describe(d.invariant)}`,
      `drain CPU ms per 1,000 orders: persist ${cpuText(d.persist.cpu_ms_per_1k)}; emulator alone ${cpuText(d.raw.cpu_ms_per_1k)}`,
    );
  const cold = r.cold;
  if (cold)
    out.push(
      `cold start (load average ${cold.loadavg_1m_at_start?.toFixed(2)} at its start; bundle bytes / gzip / init ms / first invocation ms, - where not measured): ${cold.bundles.map((b) => `${b.function} ${b.bytes}/${b.gzip_bytes}/${b.init_ms?.toFixed(0)}/${b.first_ms == null ? '-' : b.first_ms.toFixed(0)}`).join(', ')}`,
      `createOrder first/second invocation after init: ${cold.create_order_first_invoke_ms?.toFixed(1)} / ${cold.create_order_second_invoke_ms?.toFixed(1)} ms; init with Node's own --enable-source-maps ${cold.create_order_init_ms_with_node_source_maps?.toFixed(0)} ms (not deployed: lib/platform/stack-maps.ts maps stacks instead)`,
      `createOrder bundle, heaviest parts: ${cold.create_order_top_packages.map((x) => `${x.name} ${Math.round(x.bytes / 1024)} KiB`).join(', ')}`,
    );
  const ab = r.ab;
  if (ab)
    out.push(
      `reference command: ${ab.command}`,
      `  -> ${ab.rps} req/s, ${ab.complete} complete, ${ab.accepted} accepted (202), ${ab.non2xx} non-2xx (409 sold out), p50 ${ab.percentiles_ms['p50']} ms, p99 ${ab.percentiles_ms['p99']} ms, max ${ab.percentiles_ms['p100']} ms (reference: 56 req/s row locks, 933 req/s Redis + queues, laptop); invariant ${describe(ab.invariant)}`,
    );
  if (c)
    out.push(
      `cost per million orders (${c.prices.as_of}): request path $${c.request_path_usd_per_million}, with persistence $${c.total_usd_per_million}`,
      ...c.lines.map((l) => `    ${l.item}: $${l.usd_per_million_orders}`),
      `  fixed monthly: ${c.fixed_monthly.map((f) => `${f.item} $${f.usd_per_month}`).join('; ')}`,
    );
  return out;
}

/** Every invariant that was checked passed. */
export function invariantsOk(r: Results): boolean {
  const all = [
    ...(r.http ?? []).map((s: ScenarioResult) => s.invariant),
    r.ab?.invariant,
    r.handler?.invariant,
    r.drain?.invariant,
  ];
  return all.every((i) => i === undefined || i.ok);
}

export function writeReports(o: {
  dir: string;
  results: Results;
  header: Record<string, unknown>;
  machine: MachineInfo;
  scenarios: string[];
  partial: boolean;
}): { text: string; ok: boolean; files: string } {
  const r = o.results;
  const c = cost(r);
  const tg = targets(r, c);
  const ok = invariantsOk(r);
  const generated_at = new Date().toISOString();
  // The flame graph is a file of its own beside the report, not a string inside its JSON.
  const flame = r.handler?.flame;
  const report = {
    generated_at,
    ...o.header,
    scenarios: o.scenarios,
    ...r,
    ...(r.handler && flame ? { handler: { ...r.handler, flame: { ...flame, svg: undefined } } } : {}),
    cost: c,
    targets: tg,
    invariants_ok: ok,
  };
  mkdirSync(o.dir, { recursive: true });
  const stamp = generated_at.replace(/[:.]/g, '-');
  // Only a run of every scenario replaces the committed latest.*; a partial run (--only) writes
  // its own files beside them (git ignores them).
  const base = o.partial ? `bench-${stamp}-${o.scenarios.join('+')}` : 'latest';
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(join(o.dir, `bench-${stamp}.json`), json);
  if (!o.partial) writeFileSync(join(o.dir, 'latest.json'), json);
  const m = o.machine;
  const tables = { http: httpRows(r), handler: handlerRows(r), targets: tg, extra: extraTables(r) };
  writeFileSync(
    join(o.dir, `${base}.svg`),
    svgChart({
      title: `flash-sale: npm run bench (${o.scenarios.join(', ')})`,
      subtitle: `${m.cpu_model} x${m.cpus}, Node ${m.node}, ${generated_at}; load avg at start ${m.loadavg_1m_at_start}`,
      http: tables.http,
      handler: tables.handler,
      ...(r.drain ? { drain: { persist_per_s: r.drain.persist.per_s, raw_per_s: r.drain.raw.per_s } } : {}),
      extra: extraPanels(r),
    }),
  );
  const flameFile = flame ? `${base}-flame.svg` : null;
  if (flame && flameFile) writeFileSync(join(o.dir, flameFile), flame.svg);
  const extra = lines(r, c, flameFile);
  const flameImage = flameFile ? `\n\n![createOrder flame graph](${flameFile})` : '';
  writeFileSync(
    join(o.dir, `${base}.md`),
    `<!-- generated by npm run bench at ${generated_at} (scenarios: ${o.scenarios.join(', ')}) -->\n\n${markdownTables(tables)}\n\n${extra.map((e) => `    ${e}`).join('\n')}${flameImage}\n`,
  );
  const flameListed = flameFile ? `, ${flameFile}` : '';
  const files = o.partial
    ? `bench-${stamp}.json, ${base}.md, ${base}.svg${flameListed}`
    : `latest.json, latest.svg, latest.md${flameListed} (and bench-${stamp}.json)`;
  return { text: `\n${textTables(tables)}\n\n${extra.join('\n')}\n`, ok, files };
}
