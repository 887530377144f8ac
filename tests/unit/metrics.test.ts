// createOrder's `Reservations` line (countReservation) is written from a line Powertools serialised
// once per outcome: it must print what Powertools' own publishStoredMetrics prints, byte for byte
// apart from the timestamp, leave nothing in the shared instance, and print nothing when Powertools
// would not.
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  countReservation,
  countWebhook,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
} from '../../lib/platform/metrics';

const OUTCOMES = ['accepted', 'sold_out', 'limit', 'unavailable', 'accepted'] as const;

/** Every line written to stdout while `fn` runs. */
function printed(fn: () => void): string[] {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

const withoutTime = (line: string) => line.replace(/"Timestamp":\d+/, '"Timestamp":0');

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe('countReservation', () => {
  it("prints Powertools' own line for every outcome, with the time of the call", () => {
    const reference = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });
    for (const outcome of OUTCOMES) {
      const want = printed(() => {
        reference.addDimensions({ outcome });
        reference.addMetric('Reservations', MetricUnit.Count, 1);
        reference.publishStoredMetrics();
      });
      const before = Date.now();
      const got = printed(() => countReservation(outcome));
      const after = Date.now();
      expect(want).toHaveLength(1);
      expect(got.map(withoutTime)).toEqual(want.map(withoutTime));
      const t = (JSON.parse(got[0]!) as { _aws: { Timestamp: number } })._aws.Timestamp;
      expect(t).toBeGreaterThanOrEqual(before);
      expect(t).toBeLessThanOrEqual(after);
    }
  });

  it('leaves no dimension or metric behind for the next line of the shared instance', () => {
    const lines = printed(() => {
      countReservation('invalid'); // first use of this outcome: serialised through the instance
      countWebhook('order-paid');
    });
    expect(lines).toHaveLength(2);
    const webhook = JSON.parse(lines[1]!) as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] };
    };
    expect(webhook._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service', 'outcome']]);
    expect(webhook._aws.CloudWatchMetrics[0]!.Metrics).toEqual([{ Name: 'WebhookEvents', Unit: 'Count' }]);
    expect(webhook['outcome']).toBe('order_paid');
    expect(webhook['Reservations']).toBeUndefined();
  });

  it('prints nothing when Powertools metrics are disabled', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    vi.resetModules();
    const fresh = await import('../../lib/platform/metrics');
    expect(printed(() => fresh.countReservation('accepted'))).toEqual([]);
  });
});
