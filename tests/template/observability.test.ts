// Pins down what an operator gets from a deployed stage, in the CloudFormation `sls package` writes
// offline without any AWS credentials: each alarm's metric, dimensions, statistic, threshold and
// action; the dashboard's widgets and the metrics they draw; the alarm topic's subscription from a
// stage parameter and its output; and that every FlashSale metric they read is one the code emits.
import { load } from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTemplate, slsOffline } from '../../infra/aws/package';
import { functions } from '../../infra/aws/template-rules';
import { METRIC, METRICS_NAMESPACE } from '../../lib/platform/metrics';

type Json = any;

// The dev stage as the template project's global setup packaged it (infra/aws/package.ts, with no
// AWS credentials in its environment either).
let template: Json;
const resource = (id: string) => {
  const r = template.Resources[id];
  if (!r) throw new Error(`no resource ${id}`);
  return r.Properties;
};

beforeAll(() => {
  template = readTemplate('dev');
});

const topic = [{ Ref: 'OpsAlarmTopic' }];
const fn = (id: string) => [{ Name: 'FunctionName', Value: { Ref: id } }];
// Per stage (POWERTOOLS_SERVICE_NAME): a dev load test's drift or backlog never pages prod.
const service = [{ Name: 'service', Value: 'flash-sale-dev' }];

/** One plain (single-metric) alarm: everything a person chose about it. */
const plain: Record<string, Json> = {
  ReleaseRunMissingAlarm: {
    Namespace: 'AWS/Lambda',
    MetricName: 'Invocations',
    Dimensions: fn('ReleaseLambdaFunction'),
    Statistic: 'Sum',
    Period: 60,
    EvaluationPeriods: 3,
    DatapointsToAlarm: 3,
    Threshold: 1,
    ComparisonOperator: 'LessThanThreshold',
    TreatMissingData: 'breaching',
  },
  ReleaseRunErrorsAlarm: {
    Namespace: 'AWS/Lambda',
    MetricName: 'Errors',
    Dimensions: fn('ReleaseLambdaFunction'),
    Statistic: 'Sum',
    EvaluationPeriods: 3,
    DatapointsToAlarm: 2,
    Threshold: 0,
    ComparisonOperator: 'GreaterThanThreshold',
  },
  CreateOrderThrottlesAlarm: {
    Namespace: 'AWS/Lambda',
    MetricName: 'Throttles',
    Dimensions: fn('CreateOrderLambdaFunction'),
    Statistic: 'Sum',
    EvaluationPeriods: 3,
    DatapointsToAlarm: 3,
    Threshold: 0,
    ComparisonOperator: 'GreaterThanThreshold',
  },
  DriftAlarm: {
    Namespace: METRICS_NAMESPACE,
    MetricName: METRIC.productsDrifting,
    Dimensions: service,
    Statistic: 'Maximum',
    EvaluationPeriods: 2,
    DatapointsToAlarm: 2,
    Threshold: 0,
    ComparisonOperator: 'GreaterThanThreshold',
  },
  OutboxOldestAgeAlarm: {
    Namespace: METRICS_NAMESPACE,
    MetricName: METRIC.outboxOldestAge,
    Dimensions: service,
    Statistic: 'Maximum',
    Threshold: 180,
    ComparisonOperator: 'GreaterThanThreshold',
  },
  PersistBatchesFailedAlarm: {
    Namespace: METRICS_NAMESPACE,
    MetricName: METRIC.persistBatchesFailed,
    Dimensions: service,
    Statistic: 'Sum',
    EvaluationPeriods: 3,
    Threshold: 0,
    ComparisonOperator: 'GreaterThanThreshold',
  },
  RdsProxyPinnedSessionsAlarm: {
    Namespace: 'AWS/RDS',
    MetricName: 'DatabaseConnectionsCurrentlySessionPinned',
    Dimensions: [{ Name: 'ProxyName', Value: 'flash-sale-dev' }],
    EvaluationPeriods: 5,
    DatapointsToAlarm: 5,
    Threshold: 0,
    ComparisonOperator: 'GreaterThanThreshold',
  },
  RdsProxyConnectionsAlarm: {
    Namespace: 'AWS/RDS',
    MetricName: 'ClientConnections',
    Dimensions: [{ Name: 'ProxyName', Value: 'flash-sale-dev' }],
    Statistic: 'Maximum',
    Threshold: 500,
    ComparisonOperator: 'GreaterThanThreshold',
  },
  OrdersDLQNotEmptyAlarm: {
    Namespace: 'AWS/SQS',
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['OrdersDLQ', 'QueueName'] } }],
    Threshold: 0,
    ComparisonOperator: 'GreaterThanThreshold',
  },
};

describe('alarms', () => {
  it.each(Object.entries(plain))('%s watches the chosen metric with the chosen threshold', (id, want) => {
    const a = resource(id);
    expect(a).toMatchObject(want);
    expect(a.AlarmActions).toEqual(topic);
    expect(String(a.AlarmDescription).length).toBeGreaterThan(20);
  });

  it('every alarm of the stage notifies the ops topic when it fires and again when it clears', () => {
    const alarms = Object.entries(template.Resources as Record<string, Json>).filter(
      ([, r]) => r.Type === 'AWS::CloudWatch::Alarm',
    );
    expect(alarms.length).toBe(14);
    for (const [id, r] of alarms) {
      expect(r.Properties.AlarmActions, id).toEqual(topic);
      expect(r.Properties.OKActions, id).toEqual(topic);
    }
  });

  it('API 5xx rate: 5xx over Count of the HTTP API, in percent, 1 % in 2 of 3 minutes, ignoring tiny volumes', () => {
    const a = resource('Api5xxRateAlarm');
    const byId = Object.fromEntries(a.Metrics.map((m: Json) => [m.Id, m]));
    expect(byId.errors.MetricStat.Metric).toEqual({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: 'HttpApi' } }],
    });
    expect(byId.requests.MetricStat.Metric.MetricName).toBe('Count');
    expect(byId.rate).toMatchObject({
      Expression: 'IF(requests >= 100, 100 * errors / requests, 0)',
      ReturnData: true,
    });
    expect(a).toMatchObject({
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(a.AlarmActions).toEqual(topic);
  });

  it('API throttle headroom: request rate against the stage throttle it is packaged with', () => {
    const a = resource('ApiThrottleHeadroomAlarm');
    const stageRate = resource('HttpApiStage').DefaultRouteSettings.ThrottlingRateLimit;
    const used = a.Metrics.find((m: Json) => m.Id === 'used');
    expect(used.Expression).toBe(`100 * requests / PERIOD(requests) / ${stageRate}`);
    expect(a).toMatchObject({
      Threshold: 80,
      DatapointsToAlarm: 2,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('MemoryDB memory: the fullest node of the stage cluster above 80 %', () => {
    const a = resource('MemoryDbMemoryAlarm');
    expect(a.Metrics).toHaveLength(1);
    expect(a.Metrics[0].Expression).toMatch(
      /^SELECT MAX\(DatabaseMemoryUsagePercentage\) FROM "AWS\/MemoryDB"\s+WHERE ClusterName = 'flash-sale-dev'$/,
    );
    expect(a).toMatchObject({
      Threshold: 80,
      EvaluationPeriods: 3,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('the alarm topic is an output; without the stage parameter it has no subscription', () => {
    expect(template.Outputs.OpsAlarmTopicArn.Value).toEqual({ Ref: 'OpsAlarmTopic' });
    expect(template.Resources.OpsAlarmSubscription.Condition).toBe('HasAlarmSubscription');
    expect(template.Parameters.AlarmEndpoint).toMatchObject({ Type: 'String', Default: '' });
    expect(template.Conditions.HasAlarmSubscription).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AlarmEndpoint' }, ''] }],
    });
    expect(resource('OpsAlarmSubscription')).toEqual({
      TopicArn: { Ref: 'OpsAlarmTopic' },
      Protocol: 'email',
      Endpoint: { Ref: 'AlarmEndpoint' },
    });
  });
});

describe('dashboard', () => {
  const body = (): Json => {
    const parts = resource('OpsDashboard').DashboardBody['Fn::Join'][1] as Json[];
    return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'REF')).join(''));
  };

  it("has the issue's six views (plus webhooks and release work)", () => {
    const titles = body().widgets.map((w: Json) => w.properties.title);
    for (const t of [
      /Orders by outcome/,
      /Available units per product/,
      /Backlog/,
      /Persist/,
      /Errors and throttles/,
      /Drift/,
    ]) {
      expect(
        titles.some((x: string) => t.test(x)),
        String(t),
      ).toBe(true);
    }
  });

  it('draws only FlashSale metrics the code emits, with the service dimension', () => {
    const text = JSON.stringify(body());
    const searched = [...text.matchAll(/MetricName=\\"(\w+)\\"/g)].map((m) => m[1]);
    const listed = [...text.matchAll(/\["FlashSale","(\w+)"/g)].map((m) => m[1]);
    const emitted = new Set<string>(Object.values(METRIC));
    expect(searched.length + listed.length).toBeGreaterThan(10);
    for (const name of [...searched, ...listed]) expect(emitted.has(name!), name).toBe(true);
    expect(searched).toEqual(expect.arrayContaining(['Reservations', 'Available', 'Drift', 'WebhookEvents']));
    expect(listed).toEqual(expect.arrayContaining(['OutboxOldestAge', 'PersistLatency', 'ProductsDrifting']));
    // Only this stage's series: no metric names the bare service, every search filters on the stage's.
    expect(text).not.toMatch(/flash-sale\\*"/);
    expect(text.match(/SEARCH\(/g)!.length).toBe(text.match(/service=\\*"flash-sale-dev/g)!.length);
  });

  it("reads every widget from the stack's own region (AWS::Region, never a region packaged in)", () => {
    // Packaged as `${self:provider.region}`, the region of the packaging (us-east-1 with a scrubbed
    // environment), while the stack went to the operator's AWS_REGION: a blank dashboard there.
    const parts = resource('OpsDashboard').DashboardBody['Fn::Join'][1] as Json[];
    const widgets = body().widgets as Json[];
    expect(widgets.length).toBeGreaterThan(5);
    for (const w of widgets) expect(w.properties.region, w.properties.title).toBe('REF');
    expect(parts.filter((p) => JSON.stringify(p) === '{"Ref":"AWS::Region"}')).toHaveLength(widgets.length);
  });

  it("sets the functions' service name per stage: the one the alarms and the dashboard read", () => {
    for (const [id, f] of functions(template))
      expect(f.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME, id).toBe('flash-sale-dev');
  });
});

it('a stage parameter subscribes the alarm topic (resolved offline, no AWS call)', () => {
  // `sls print` with no AWS credentials anywhere (infra/aws/package.ts): resolving must not need them.
  const printed = load(
    slsOffline([
      'print',
      '--stage',
      'prod',
      '--param',
      'alarmEndpoint=oncall@example.com',
      '--param',
      'rdsProxyName=shop-proxy',
    ]),
  ) as Json;
  // `sls print` shows the resources list already merged into one template fragment.
  const resources = printed.resources.Resources;
  expect(printed.resources.Parameters.AlarmEndpoint.Default).toBe('oncall@example.com');
  expect(resources.RdsProxyPinnedSessionsAlarm.Properties.Dimensions).toEqual([
    { Name: 'ProxyName', Value: 'shop-proxy' },
  ]);
}, 120_000);
