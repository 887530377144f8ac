// The bench's outputs: one plain-text table for the terminal, the same figures as Markdown for the
// README, and an SVG chart drawn here (no chart library: a few rectangles and labels).

export interface HttpRow {
  scenario: string;
  rps: number;
  latency_ms: { p50: number; p90: number; p99: number; p99_9: number; max: number };
  status: Record<string, number>;
  vs_floor: number | null;
  invariant: string;
  /** CPU ms per request, by process */
  cpu: Record<string, number>;
  /** share of the machine's cores over the run: the load generator, the serving processes */
  cpu_share: { load_generator: number; server: number };
}

export interface HandlerRow {
  handler: string;
  in_flight: number;
  per_s: number;
  latency_ms: { p50: number; p90: number; p99: number; p99_9: number; max: number };
  billed_ms: { p50: number; p99: number; mean: number };
  cpu_ms: number;
  vs_send_only: number | null;
}

export interface TargetRow {
  target: string;
  goal: string;
  measured: string;
  met: boolean;
}

const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
const f1 = (n: number) => (Math.round(n * 10) / 10).toString();
const f2 = (n: number) => (Math.round(n * 100) / 100).toString();
export const pct = (r: number | null) => (r === null ? '-' : `${Math.round(r * 100)}%`);
const codes = (s: Record<string, number>) =>
  Object.entries(s)
    .sort()
    .map(([c, n]) => `${c}:${n}`)
    .join(' ');

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i]!)).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

function markdown(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

const HTTP_HEAD = [
  'scenario',
  'req/s',
  'p50 ms',
  'p90',
  'p99',
  'p99.9',
  'max',
  'status codes',
  'vs floor',
  'gen CPU',
  'server CPU',
  'invariant',
];
const httpCells = (r: HttpRow) => [
  r.scenario,
  f0(r.rps),
  f1(r.latency_ms.p50),
  f1(r.latency_ms.p90),
  f1(r.latency_ms.p99),
  f1(r.latency_ms.p99_9),
  f1(r.latency_ms.max),
  codes(r.status),
  pct(r.vs_floor),
  pct(r.cpu_share.load_generator),
  pct(r.cpu_share.server),
  r.invariant,
];
const HANDLER_HEAD = [
  'handler',
  'in flight',
  'per s',
  'p50 ms',
  'p90',
  'p99',
  'p99.9',
  'max',
  'billed p50/p99/mean',
  'CPU ms/inv',
  'vs send-only',
];
const handlerCells = (r: HandlerRow) => [
  r.handler,
  String(r.in_flight),
  f0(r.per_s),
  f2(r.latency_ms.p50),
  f2(r.latency_ms.p90),
  f2(r.latency_ms.p99),
  f2(r.latency_ms.p99_9),
  f1(r.latency_ms.max),
  `${r.billed_ms.p50}/${r.billed_ms.p99}/${r.billed_ms.mean}`,
  f2(r.cpu_ms),
  pct(r.vs_send_only),
];
const CPU_COLUMNS = [
  ['machine', 'machine'],
  ['serverless-offline (product)', 'offline'],
  ['serverless-offline (bench fns)', 'offline (bench)'],
  ['fauxqs', 'fauxqs'],
  ['redis', 'redis'],
  ['postgres', 'postgres'],
  ['load_generator', 'load gen'],
  ['harness_and_trigger', 'harness+trigger'],
  ['other_processes', 'not ours'],
] as const;
const CPU_HEAD = ['CPU ms per request', ...CPU_COLUMNS.map(([, h]) => h)];
const cpuCells = (r: HttpRow) => [r.scenario, ...CPU_COLUMNS.map(([k]) => f2(r.cpu[k] ?? 0))];
const TARGET_HEAD = ['target', 'goal', 'measured', 'met'];
const targetCells = (t: TargetRow) => [t.target, t.goal, t.measured, t.met ? 'yes' : 'NO'];

/** A table of any other section (SDK isolation, Redis ceiling): a head and its rows of cells. */
export interface ExtraTable {
  head: string[];
  rows: string[][];
}

export interface Tables {
  http: HttpRow[];
  handler: HandlerRow[];
  targets: TargetRow[];
  extra: ExtraTable[];
}

function tables(t: Tables, fmt: (head: string[], rows: string[][]) => string): string {
  const parts = [
    t.http.length ? fmt(HTTP_HEAD, t.http.map(httpCells)) : '',
    t.http.length ? fmt(CPU_HEAD, t.http.map(cpuCells)) : '',
    t.handler.length ? fmt(HANDLER_HEAD, t.handler.map(handlerCells)) : '',
    ...t.extra.map((e) => fmt(e.head, e.rows)),
    fmt(TARGET_HEAD, t.targets.map(targetCells)),
  ];
  return parts.filter(Boolean).join('\n\n');
}

export const textTables = (t: Tables) => tables(t, table);
export const markdownTables = (t: Tables) => tables(t, markdown);

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface Bar {
  label: string;
  value: number;
  note: string;
  color: string;
}

function barPanel(title: string, unit: string, bars: Bar[], y0: number, width: number): [string, number] {
  const left = 230;
  const barH = 20;
  const gap = 8;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const scale = (width - left - 290) / max;
  const parts = [`<text x="10" y="${y0 + 16}" class="t">${esc(title)}</text>`];
  bars.forEach((b, i) => {
    const y = y0 + 28 + i * (barH + gap);
    const w = Math.max(1, b.value * scale);
    parts.push(
      `<text x="${left - 8}" y="${y + 14}" class="l" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${b.color}"/>`,
      `<text x="${(left + w + 6).toFixed(1)}" y="${y + 14}" class="v">${esc(`${f0(b.value)} ${unit}  ${b.note}`)}</text>`,
    );
  });
  return [parts.join('\n'), y0 + 28 + bars.length * (barH + gap) + 16];
}

const CPU_COLORS: Record<string, string> = {
  'serverless-offline (product)': '#2b6cb0',
  'serverless-offline (bench fns)': '#9aa5b1',
  fauxqs: '#d69e2e',
  redis: '#c53030',
  postgres: '#6b46c1',
  load_generator: '#2f855a',
  harness_and_trigger: '#718096',
};

/** Stacked bars: CPU ms per request by process, the same scale for every scenario. */
function cpuPanel(http: HttpRow[], y0: number, width: number): [string, number] {
  const left = 230;
  const barH = 16;
  const gap = 8;
  const keys = Object.keys(CPU_COLORS);
  const total = (r: HttpRow) => keys.reduce((n, k) => n + (r.cpu[k] ?? 0), 0);
  const max = Math.max(0.001, ...http.map(total));
  const scale = (width - left - 120) / max;
  const parts = [
    `<text x="10" y="${y0 + 16}" class="t">CPU ms per request, by process (what caps each rate on two cores)</text>`,
  ];
  let lx = 10;
  for (const k of keys) {
    parts.push(
      `<rect x="${lx}" y="${y0 + 26}" width="10" height="10" fill="${CPU_COLORS[k]}"/>`,
      `<text x="${lx + 14}" y="${y0 + 35}" class="v">${esc(k.replace(/_/g, ' '))}</text>`,
    );
    lx += 24 + k.length * 6;
  }
  http.forEach((r, i) => {
    const y = y0 + 46 + i * (barH + gap);
    parts.push(`<text x="${left - 8}" y="${y + 12}" class="l" text-anchor="end">${esc(r.scenario)}</text>`);
    let x = left;
    for (const k of keys) {
      const w = (r.cpu[k] ?? 0) * scale;
      if (w <= 0) continue;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${CPU_COLORS[k]}"/>`,
      );
      x += w;
    }
    parts.push(`<text x="${(x + 6).toFixed(1)}" y="${y + 12}" class="v">${f2(total(r))} ms</text>`);
  });
  return [parts.join('\n'), y0 + 46 + http.length * (barH + gap) + 16];
}

export interface ExtraPanel {
  title: string;
  unit: string;
  bars: Bar[];
}

export function svgChart(opts: {
  title: string;
  subtitle: string;
  http: HttpRow[];
  handler: HandlerRow[];
  drain?: { persist_per_s: number; raw_per_s: number };
  extra: ExtraPanel[];
}): string {
  const width = 980;
  let y = 56;
  const panels: string[] = [];
  const httpBars = opts.http.map((r) => ({
    label: r.scenario,
    value: r.rps,
    note: `p99 ${f1(r.latency_ms.p99)} ms${r.vs_floor === null ? '' : `, ${pct(r.vs_floor)} of floor`}`,
    color: r.scenario.startsWith('floor')
      ? '#9aa5b1'
      : r.scenario.startsWith('row-lock')
        ? '#d9822b'
        : '#2b6cb0',
  }));
  const add = (title: string, unit: string, bars: Bar[]) => {
    if (bars.length === 0) return;
    const [p, next] = barPanel(title, unit, bars, y, width);
    panels.push(p);
    y = next;
  };
  add('HTTP over serverless-offline (requests/s, 100 connections)', 'req/s', httpBars);
  const hBars = opts.handler.map((r) => ({
    label: `${r.handler} @${r.in_flight}`,
    value: r.per_s,
    note: `p99 ${f2(r.latency_ms.p99)} ms${r.vs_send_only === null ? '' : `, ${pct(r.vs_send_only)} of send-only`}`,
    color: r.handler === 'sendOnly' ? '#9aa5b1' : '#2f855a',
  }));
  add('Handler level, in-process (invocations/s)', 'inv/s', hBars);
  const d = opts.drain;
  if (d)
    add('Drain: orders written to PostgreSQL per second', '/s', [
      { label: 'fauxqs receive+delete', value: d.raw_per_s, note: '(emulator alone)', color: '#9aa5b1' },
      {
        label: 'persistOrders via trigger',
        value: d.persist_per_s,
        note: pct(d.persist_per_s / Math.max(1, d.raw_per_s)),
        color: '#6b46c1',
      },
    ]);
  for (const e of opts.extra) add(e.title, e.unit, e.bars);
  if (opts.http.length) {
    const [p, next] = cpuPanel(opts.http, y, width);
    panels.push(p);
    y = next;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">
<style>.t{font-size:14px;font-weight:bold}.l{font-size:12px}.v{font-size:11px;fill:#333}.h{font-size:16px;font-weight:bold}.s{font-size:11px;fill:#555}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="22" class="h">${esc(opts.title)}</text>
<text x="10" y="40" class="s">${esc(opts.subtitle)}</text>
${panels.join('\n')}
</svg>
`;
}
