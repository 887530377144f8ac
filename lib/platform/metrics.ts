// Business metrics as CloudWatch Embedded Metric Format (Powertools Metrics): each flush is one JSON
// line on stdout that CloudWatch Logs turns into metrics. No PutMetricData call, so nothing on the
// request path waits on AWS. Names and dimensions are listed in README ("Logs and metrics"); the
// alarms and the dashboard in infra/aws/observability.yml read exactly these.
//
// Every emit adds and publishes in one synchronous call on the shared instance: nothing can
// interleave (serverless-offline runs concurrent invocations in one process), and it costs ~9 µs of
// CPU per line where `singleMetric()` (a new instance, a new Console) measured ~49 µs.
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ReleaseRunReport } from '../sale/release-run';
import type { SaleStats } from '../sale/stats';

export const METRICS_NAMESPACE = 'FlashSale';
/**
 * The `service` dimension of every metric and field of every log line: the stage's name in AWS
 * (POWERTOOLS_SERVICE_NAME, Powertools' own variable, set per stage by infra/aws/environment.yml),
 * so one stage's alarms never count another's metrics; `flash-sale` locally.
 */
export const METRICS_SERVICE = process.env['POWERTOOLS_SERVICE_NAME'] || 'flash-sale';

/** Every metric this product emits, by name. */
export const METRIC = {
  reservations: 'Reservations',
  webhookEvents: 'WebhookEvents',
  persistBatchSize: 'PersistBatchSize',
  persistDuration: 'PersistDuration',
  persistLatency: 'PersistLatency',
  ordersPersisted: 'OrdersPersisted',
  persistDuplicates: 'PersistDuplicates',
  persistBatchesFailed: 'PersistBatchesFailed',
  unreadableMessages: 'UnreadableMessages',
  releaseRuns: 'ReleaseRuns',
  releaseRunDuration: 'ReleaseRunDuration',
  expiries: 'Expiries',
  releases: 'Releases',
  rebuilds: 'Rebuilds',
  rebuildsFailed: 'RebuildsFailed',
  outboxResent: 'OutboxResent',
  outboxSendFailed: 'OutboxSendFailed',
  strandedCancelsApplied: 'StrandedCancelsApplied',
  strandedPaymentsApplied: 'StrandedPaymentsApplied',
  paymentsOrphaned: 'PaymentsOrphaned',
  outboxSize: 'OutboxSize',
  outboxOldestAge: 'OutboxOldestAge',
  productsDrifting: 'ProductsDrifting',
  driftUnits: 'DriftUnits',
  available: 'Available',
  drift: 'Drift',
} as const;

/** What became of one POST /api/orders, as an operator counts it. */
export type ReservationOutcome =
  | 'accepted'
  | 'sold_out'
  | 'limit'
  | 'window'
  | 'invalid'
  | 'unavailable'
  | 'rate_limited'
  | 'unauthorized'
  | 'error';

/** Per-product series are bounded: the release run reports at most this many products. */
export const PRODUCT_METRICS_MAX = 20;

const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];
type Entry = [name: string, unit: Unit, value: number | number[]];

/** Adds and publishes one EMF line, synchronously (see the header). */
function emit(dimensions: Record<string, string>, entries: Entry[]): void {
  if (entries.length === 0) return;
  if (Object.keys(dimensions).length) metrics.addDimensions(dimensions);
  for (const [name, unit, value] of entries) {
    for (const v of Array.isArray(value) ? value : [value]) metrics.addMetric(name, unit, v);
  }
  metrics.publishStoredMetrics();
}

/**
 * What countReservation needs of Powertools' instance beyond its public API: whether it publishes
 * at all (POWERTOOLS_METRICS_DISABLED, else off under POWERTOOLS_DEV) and the console it writes its
 * lines to (its own over stdout, the global one under POWERTOOLS_DEV).
 */
const powertools = metrics as unknown as { isDisabled(): boolean; console: Pick<Console, 'log'> };

/** countReservation's line per outcome, as Powertools serialises it, split around its timestamp. */
const reservationLines = new Map<ReservationOutcome, readonly [string, string]>();
const TIMESTAMP_MARK = -1;

function reservationLine(outcome: ReservationOutcome): readonly [string, string] {
  let line = reservationLines.get(outcome);
  if (line) return line;
  metrics.addDimensions({ outcome });
  metrics.addMetric(METRIC.reservations, MetricUnit.Count, 1);
  const emf = metrics.serializeMetrics();
  metrics.clearMetrics();
  metrics.clearDimensions();
  metrics.clearMetadata();
  emf._aws.Timestamp = TIMESTAMP_MARK;
  const parts = JSON.stringify(emf).split(`"Timestamp":${TIMESTAMP_MARK}`);
  if (parts.length !== 2) throw new Error(`EMF line without one timestamp: ${parts.join('?')}`);
  line = [`${parts[0]}"Timestamp":`, parts[1]!];
  reservationLines.set(outcome, line);
  return line;
}

/**
 * One `Reservations` line per POST /api/orders, the line emit() would print: Powertools serialises
 * it once per outcome and container, and each request writes it with its own timestamp to the same
 * console. Through emit(), Powertools' stores (dimension sets, metric validation, key-collision
 * checks, an environment read per store access) cost createOrder ~0.03–0.07 ms of CPU per order at
 * 10 and 100 in flight (load/README.md, "createOrder per invocation at 10 and 100 in flight").
 */
export function countReservation(outcome: ReservationOutcome): void {
  if (powertools.isDisabled()) return;
  const [head, tail] = reservationLine(outcome);
  powertools.console.log(`${head}${Date.now()}${tail}`);
}

export function countWebhook(outcome: string): void {
  emit({ outcome: outcome.replaceAll('-', '_') }, [[METRIC.webhookEvents, MetricUnit.Count, 1]]);
}

export interface PersistFigures {
  records: number;
  unreadable: number;
  /** the write failed (PostgreSQL down...): every readable record goes back to the queue */
  failed: boolean;
  inserted: number;
  duplicates: number;
  /** the batched write and the outbox clear */
  duration_ms: number;
  /** per order: accepted by the inventory -> committed in PostgreSQL */
  latency_ms: number[];
}

export function persistMetrics(f: PersistFigures): void {
  emit({}, [
    [METRIC.persistBatchSize, MetricUnit.Count, f.records],
    [METRIC.unreadableMessages, MetricUnit.Count, f.unreadable],
    [METRIC.ordersPersisted, MetricUnit.Count, f.inserted],
    [METRIC.persistDuplicates, MetricUnit.Count, f.duplicates],
    // A failed batch is answered with batchItemFailures, not an error: Lambda's Errors stays 0.
    [METRIC.persistBatchesFailed, MetricUnit.Count, f.failed ? 1 : 0],
    ...(f.inserted + f.duplicates > 0
      ? ([
          [METRIC.persistDuration, MetricUnit.Milliseconds, f.duration_ms],
          // EMF holds at most 100 values per metric: a batch is at most 100 records.
          [METRIC.persistLatency, MetricUnit.Milliseconds, f.latency_ms.slice(0, 100)],
        ] as Entry[])
      : []),
  ]);
}

export function releaseRunMetrics(r: ReleaseRunReport): void {
  const failedRebuilds = r.rebuilt.filter((b) => b.outcome !== 'rebuilt').length;
  emit({}, [
    [METRIC.releaseRuns, MetricUnit.Count, 1],
    [METRIC.releaseRunDuration, MetricUnit.Milliseconds, r.duration_ms],
    [METRIC.expiries, MetricUnit.Count, r.expired],
    // Stock given back by the run: expired orders, releases a crash had left unapplied, and late
    // payments' retakes whose unit of work never committed.
    [METRIC.releases, MetricUnit.Count, r.expired + r.releases_reapplied + r.retakes_undone],
    [METRIC.rebuilds, MetricUnit.Count, r.rebuilt.length - failedRebuilds],
    [METRIC.rebuildsFailed, MetricUnit.Count, failedRebuilds],
    [METRIC.outboxResent, MetricUnit.Count, r.outbox_resent],
    [METRIC.outboxSendFailed, MetricUnit.Count, r.outbox_send_failed],
    [METRIC.strandedCancelsApplied, MetricUnit.Count, r.stranded_cancels_applied],
    [METRIC.strandedPaymentsApplied, MetricUnit.Count, r.stranded_payments_applied],
    [METRIC.paymentsOrphaned, MetricUnit.Count, r.orphaned],
  ]);
}

/**
 * The conservation figures the release run reads each minute: totals without a product dimension
 * (what the alarms watch: an alarm needs fixed dimensions) and, per product, availability and drift
 * for the dashboard.
 */
export function saleMetrics(s: SaleStats): void {
  const drifting = s.products.filter((p) => !p.ok);
  emit({}, [
    [METRIC.outboxSize, MetricUnit.Count, s.backlog.outbox],
    [
      METRIC.outboxOldestAge,
      MetricUnit.Seconds,
      Math.max(0, ...s.products.map((p) => p.outbox_oldest_age_s)),
    ],
    [METRIC.productsDrifting, MetricUnit.Count, drifting.length],
    [METRIC.driftUnits, MetricUnit.Count, s.products.reduce((n, p) => n + Math.abs(p.drift), 0)],
  ]);
  for (const p of s.products.slice(-PRODUCT_METRICS_MAX)) {
    emit({ product_id: String(p.product_id) }, [
      [METRIC.available, MetricUnit.Count, p.available],
      [METRIC.drift, MetricUnit.Count, p.drift],
    ]);
  }
}
