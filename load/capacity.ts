// `npm run capacity`: the capacity model of load/README.md, from the figures of a bench report
// (default load/reports/latest.json; every input it needs must have been measured there, else it
// stops naming the scenario to run) and the AWS quotas below (cited, as of the date given).
// Writes load/reports/capacity.svg and capacity.md and prints the same table.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import type { Results } from './bench/scenario';

const ROOT = join(import.meta.dirname, '..');

/** Default quotas per account and Region, read 2026-12 in the AWS documentation. */
export const QUOTAS = {
  lambda_concurrency: {
    value: 1000,
    note: 'concurrent executions per Region, default (can be raised to tens of thousands)',
    url: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html',
  },
  lambda_scaling: {
    value: 1000,
    note: 'new execution environments per function every 10 s',
    url: 'https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html',
  },
  api_gateway_rps: {
    value: 10_000,
    note: 'requests/s per account per Region across HTTP and REST APIs (burst bucket 5,000; 2,500 rps in some Regions); adjustable',
    url: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html',
  },
  sqs_standard: {
    value: Number.POSITIVE_INFINITY,
    note: 'standard queues: "nearly unlimited" API calls per second per action; ~120,000 messages in flight per queue',
    url: 'https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html',
  },
  memorydb_nodes_per_cluster: {
    value: 90,
    note: 'nodes per cluster, default quota (a cluster can be raised to 500 nodes: 500 shards with no replica or 100 shards with 4); 300 nodes per Region',
    url: 'https://docs.aws.amazon.com/memorydb/latest/devguide/quota-limits.html',
  },
} as const;

/** Per order on the request path and the consumer (from the code; see load/README.md). */
const PER_ORDER = {
  redis_script_calls: 3, // rate limit (customer), reserve.lua, ack.lua after the commit
  sqs_requests: 1.2, // SendMessage, plus ReceiveMessage and DeleteMessageBatch per 10
  pg_rows: 2, // orders + order_events, one transaction per batch
};

/** createOrder's duration in AWS is not measured here: SendMessage and Redis are network hops. */
const AWS_DURATION_MS_ASSUMED = 10;
const DEMANDS = [10_000, 100_000, 1_000_000];

export interface Capacity {
  measured: {
    /** calls/s the bench's clients got (bound by the clients on this machine, not by Redis) */
    redis_one_product_calls_per_s: number;
    /** Redis is one thread: one core over its measured CPU per call is one shard's ceiling */
    redis_one_product_per_s: number;
    redis_many_products_per_s: number;
    pg_writer_per_s: number;
    create_order_ms_local: number;
    create_order_cpu_ms: number;
    persist_ms_per_order: number;
  };
  rows: {
    demand: number;
    needs: Record<string, string>;
    breaks_first: string;
    one_product_breaks_first: string;
  }[];
  split_product_above_per_s: number;
}

export function capacity(r: Results): Capacity {
  const need = (what: unknown, scenario: string) => {
    if (what === undefined || what === null)
      throw new Error(`the report lacks "${scenario}": run npm run bench -- --only ${scenario}`);
  };
  need(r.redis, 'redis');
  need(r.handler, 'handler');
  need(r.drain, 'drain');
  const one = r.redis!.runs.find((x) => x.products === 1)!;
  const many = r.redis!.runs.find((x) => x.products > 1)!;
  const at1 = r.handler!.runs.find((x) => x.handler === 'createOrder' && x.in_flight === 1)!;
  const d = r.drain!.persist;
  const measured = {
    redis_one_product_calls_per_s: one.per_s,
    redis_one_product_per_s: 1000 / one.redis_cpu_ms_per_call,
    redis_many_products_per_s: 1000 / many.redis_cpu_ms_per_call,
    // one persistOrders container writing batches back to back
    pg_writer_per_s: d.records_per_invocation / (d.invoke_ms_mean / 1000),
    create_order_ms_local: at1.duration_ms.mean,
    create_order_cpu_ms: at1.cpu_ms_per_invocation,
    persist_ms_per_order: d.invoke_ms_mean / d.records_per_invocation,
  };
  const rows = DEMANDS.map((rps) => {
    const concurrency = Math.ceil((rps * AWS_DURATION_MS_ASSUMED) / 1000);
    const shards = Math.ceil(rps / measured.redis_many_products_per_s);
    const ramp_s = (concurrency / QUOTAS.lambda_scaling.value) * 10;
    const limits: [string, number][] = [
      ['API Gateway account throttle', QUOTAS.api_gateway_rps.value],
      ['Lambda account concurrency', (QUOTAS.lambda_concurrency.value * 1000) / AWS_DURATION_MS_ASSUMED],
      ['one Redis shard (many products)', measured.redis_many_products_per_s],
    ];
    // every limit below the demand, lowest first: the first breaks first, the next once it is raised
    const inOrder = (l: [string, number][]) =>
      l
        .filter(([, cap]) => cap < rps)
        .sort((a, b) => a[1] - b[1])
        .map(([name, cap]) => `${name} (${fmt(cap)}/s)`)
        .join(', then ');
    const first = inOrder(limits);
    const firstOne = inOrder([
      ...limits,
      ['one Redis shard (one product)', measured.redis_one_product_per_s],
    ]);
    return {
      demand: rps,
      needs: {
        'API Gateway':
          rps <= QUOTAS.api_gateway_rps.value ? 'default quota' : `quota raised to ${fmt(rps)} rps`,
        'createOrder concurrency': `${fmt(concurrency)} (${rps > (QUOTAS.lambda_concurrency.value * 1000) / AWS_DURATION_MS_ASSUMED ? 'above' : 'within'} the 1,000 default); ${ramp_s.toFixed(0)} s to scale from cold, so provisioned (npm run cli -- prewarm)`,
        'Redis shards': `${fmt(shards)} ${shards === 1 ? 'primary' : 'primaries'}${shards * 2 > QUOTAS.memorydb_nodes_per_cluster.value ? ' (with a replica each: above the 90-node default quota)' : ''}`,
        'SQS requests/s': `${fmt(rps * PER_ORDER.sqs_requests)} (no quota on standard queues)`,
        'PostgreSQL rows/s': `${fmt(rps * PER_ORDER.pg_rows)}; one writer here ${fmt(measured.pg_writer_per_s)} orders/s, so ${fmt(Math.ceil(rps / measured.pg_writer_per_s))} writers, or let the queue hold the burst`,
        'Lambda ms/s': `createOrder ${fmt(rps * AWS_DURATION_MS_ASSUMED)} (assumed ${AWS_DURATION_MS_ASSUMED} ms), persistOrders ${fmt(rps * measured.persist_ms_per_order)}`,
      },
      breaks_first: first || 'nothing at default quotas',
      one_product_breaks_first: firstOne || 'nothing',
    };
  });
  return { measured, rows, split_product_above_per_s: measured.redis_one_product_per_s };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Log-scale bars: each tier's ceiling (orders/s) against the three demands. */
export function capacitySvg(c: Capacity, subtitle: string): string {
  const bars: [string, number, string][] = [
    ['API Gateway (default quota)', QUOTAS.api_gateway_rps.value, 'account, per Region'],
    [
      'Lambda 1,000 concurrency',
      (QUOTAS.lambda_concurrency.value * 1000) / AWS_DURATION_MS_ASSUMED,
      `at ${AWS_DURATION_MS_ASSUMED} ms per order (assumed)`,
    ],
    [
      'Lambda ramp, first 10 s',
      (QUOTAS.lambda_scaling.value * 1000) / AWS_DURATION_MS_ASSUMED,
      '1,000 new environments per 10 s',
    ],
    [
      'one Redis, one product',
      c.measured.redis_one_product_per_s,
      'measured here: 1 core / Redis CPU per call',
    ],
    [
      'one Redis, many products',
      c.measured.redis_many_products_per_s,
      'measured here: 1 core / Redis CPU per call',
    ],
    ['one PostgreSQL batch writer', c.measured.pg_writer_per_s, 'measured here (persistOrders)'],
  ];
  const W = 980;
  const left = 240;
  const right = 250;
  const lo = 2; // 100/s
  const hi = 7; // 10M/s
  const x = (v: number) => left + ((Math.log10(Math.max(100, v)) - lo) / (hi - lo)) * (W - left - right);
  const rowH = 30;
  const top = 70;
  const parts: string[] = [];
  for (let e = lo; e <= hi; e++) {
    parts.push(
      `<line x1="${x(10 ** e)}" y1="${top - 10}" x2="${x(10 ** e)}" y2="${top + bars.length * rowH}" stroke="#ddd"/>`,
    );
    parts.push(
      `<text x="${x(10 ** e)}" y="${top + bars.length * rowH + 14}" class="v" text-anchor="middle">${fmt(10 ** e)}</text>`,
    );
  }
  bars.forEach(([label, v, note], i) => {
    const y = top + i * rowH;
    parts.push(
      `<text x="${left - 8}" y="${y + 15}" class="l" text-anchor="end">${esc(label)}</text>`,
      `<rect x="${left}" y="${y + 2}" width="${(x(v) - left).toFixed(1)}" height="18" fill="${note.startsWith('measured') ? '#c53030' : '#2b6cb0'}"/>`,
      `<text x="${(x(v) + 6).toFixed(1)}" y="${y + 15}" class="v">${esc(`${fmt(v)}/s ${note}`)}</text>`,
    );
  });
  for (const d of DEMANDS)
    parts.push(
      `<line x1="${x(d)}" y1="${top - 14}" x2="${x(d)}" y2="${top + bars.length * rowH}" stroke="#2f855a" stroke-dasharray="4 3"/>`,
      `<text x="${x(d)}" y="${top - 18}" class="v" text-anchor="middle" fill="#2f855a">${fmt(d)}/s</text>`,
    );
  const h = top + bars.length * rowH + 30;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif">
<style>.l{font-size:12px}.v{font-size:11px;fill:#333}.h{font-size:16px;font-weight:bold}.s{font-size:11px;fill:#555}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="22" class="h">Capacity: each tier's ceiling in orders/s (log scale) against 10k, 100k and 1M orders/s</text>
<text x="10" y="40" class="s">${esc(subtitle)}</text>
${parts.join('\n')}
</svg>
`;
}

export function capacityMarkdown(c: Capacity): string {
  const m = c.measured;
  const head = [
    'demand (orders/s)',
    ...Object.keys(c.rows[0]!.needs),
    'breaks first at default quotas (many products)',
    'breaks first if it is all one product',
  ];
  return [
    `Measured (noisy, shared two-core machine): one Redis running reserve.lua (AOF always) spends CPU for ${fmt(m.redis_one_product_per_s)} calls/s of one core for one product, ${fmt(m.redis_many_products_per_s)}/s across many (the bench's own clients reached ${fmt(m.redis_one_product_calls_per_s)} calls/s: they, not Redis, were the limit; fsync waits are not CPU, so the real ceiling is at most this); one PostgreSQL batch writer ${fmt(m.pg_writer_per_s)} orders/s (${m.persist_ms_per_order.toFixed(3)} ms of persistOrders per order); createOrder ${m.create_order_ms_local.toFixed(2)} ms per invocation locally at 1 in flight (${m.create_order_cpu_ms.toFixed(2)} ms CPU). Assumed in AWS: ${AWS_DURATION_MS_ASSUMED} ms per createOrder (network hops to Redis and SQS; not measured here).`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...c.rows.map(
      (r) =>
        `| ${fmt(r.demand)} | ${Object.values(r.needs).join(' | ')} | ${r.breaks_first} | ${r.one_product_breaks_first} |`,
    ),
    '',
    `One product's stock must be split across shards (sub-buckets of its units on different hash slots) when its own demand passes what one shard runs for one product: ${fmt(c.split_product_above_per_s)} orders/s here.`,
    '',
    'Quotas (defaults per account and Region):',
    ...Object.values(QUOTAS).map(
      (q) => `- ${Number.isFinite(q.value) ? `${fmt(q.value)}: ` : ''}${q.note} (${q.url})`,
    ),
  ].join('\n');
}

/** The report to read: commander answers `--help` and refuses an unknown option before any file is read. */
function reportFile(): string {
  const cli = new Command('capacity')
    .description('the capacity model from a bench report; writes load/reports/capacity.{svg,md}')
    .argument('[report]', 'a bench report (JSON)', join(ROOT, 'load/reports/latest.json'))
    .parse();
  return cli.processedArgs[0] as string;
}

function main(): void {
  const file = reportFile();
  const report = JSON.parse(readFileSync(file, 'utf8')) as Results & {
    generated_at: string;
    machine?: { cpu_model: string; cpus: number };
  };
  const c = capacity(report);
  const subtitle = `from ${file.replace(`${ROOT}/`, '')} (${report.generated_at}); AWS quotas as documented 2026-12; ${AWS_DURATION_MS_ASSUMED} ms per createOrder in AWS assumed`;
  writeFileSync(join(ROOT, 'load/reports/capacity.svg'), capacitySvg(c, subtitle));
  const md = `<!-- generated by npm run capacity from ${file.replace(`${ROOT}/`, '')} -->\n\n${capacityMarkdown(c)}\n`;
  writeFileSync(join(ROOT, 'load/reports/capacity.md'), md);
  process.stdout.write(`${md}\nwrote load/reports/capacity.svg and capacity.md\n`);
}

if (process.argv[1]?.endsWith('capacity.ts')) main();
