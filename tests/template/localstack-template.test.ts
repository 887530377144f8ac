// Pins down which of serverless.yml's resources go to LocalStack: one rule (a type LocalStack runs
// without Docker, and everything it refers to goes too), applied to the template `sls package`
// generates, plus the edge cases of that rule (Fn::Sub, GetAtt strings, DependsOn, chains, outputs).
import { beforeAll, expect, it } from 'vitest';
import {
  type CfnTemplate,
  LOCALSTACK_RESOURCE_TYPES,
  localstackTemplate,
  packagedTemplate,
  refsOf,
} from '../../infra/local/localstack-stack';

let packaged: CfnTemplate;
beforeAll(() => {
  packaged = packagedTemplate();
}, 180_000);

it('from the packaged template: the queues, the DLQ and its redrive, the alarm topic, the queue alarms', () => {
  const t = localstackTemplate(packaged);
  expect(Object.keys(t.Resources).sort()).toEqual([
    'DatabaseAppSecret', // generated secrets: read back through Powertools Parameters
    'DriftAlarm', // alarms on the application's own metrics (no Lambda dimension)
    'JwtSecret',
    'MemoryDbMemoryAlarm',
    'OpsAlarmSubscription',
    'OpsAlarmTopic',
    'OrdersBacklogAgeAlarm',
    'OrdersDLQ',
    'OrdersDLQNotEmptyAlarm',
    'OrdersQueue',
    'OutboxOldestAgeAlarm',
    'PersistBatchesFailedAlarm',
    'RdsProxyConnectionsAlarm',
    'RdsProxyPinnedSessionsAlarm',
    'RedisAppSecret',
  ]);
  // copied as generated, redrive policy included: not a second hand-written definition
  expect(t.Resources['OrdersQueue']).toEqual(packaged.Resources['OrdersQueue']);
  expect(t.Resources['OrdersQueue']!.Properties?.['RedrivePolicy']).toMatchObject({
    deadLetterTargetArn: { 'Fn::GetAtt': ['OrdersDLQ', 'Arn'] },
  });
});

it('leaves behind the functions, their alarm, the HTTP API, the schedule, IAM and the bucket', () => {
  const kept = localstackTemplate(packaged).Resources;
  const left = Object.keys(packaged.Resources).filter((id) => !(id in kept));
  const leftTypes = new Set(left.map((id) => packaged.Resources[id]!.Type));
  for (const type of [
    'AWS::Lambda::Function',
    'AWS::ApiGatewayV2::Api',
    'AWS::Events::Rule',
    'AWS::IAM::Role',
  ]) {
    expect(leftTypes).toContain(type);
  }
  // an alarm is runnable, but this one watches a Lambda's metrics: it stays with the Lambda
  expect(left).toContain('PersistErrorsAlarm');
  expect(refsOf(packaged.Resources['PersistErrorsAlarm'])).toContain('PersistOrdersLambdaFunction');
  // and nothing kept refers to anything left behind
  for (const r of Object.values(kept)) expect([...refsOf(r)].filter((id) => left.includes(id))).toEqual([]);
});

it('follows Fn::Sub, GetAtt strings, DependsOn and chains; keeps only outputs it can resolve', () => {
  const t: CfnTemplate = {
    Resources: {
      Fn: { Type: 'AWS::Lambda::Function' },
      Secret: { Type: 'AWS::SecretsManager::Secret', Properties: { Name: 'db' } },
      Param: {
        Type: 'AWS::SSM::Parameter',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax
        Properties: { Value: { 'Fn::Sub': '${Secret}/${AWS::Region}' } },
      },
      SubToFn: { Type: 'AWS::SNS::Subscription', Properties: { Endpoint: { 'Fn::GetAtt': 'Fn.Arn' } } },
      AfterFn: { Type: 'AWS::SQS::Queue', DependsOn: ['Fn'] },
      Policy: { Type: 'AWS::SQS::QueuePolicy', Properties: { Queues: [{ Ref: 'AfterFn' }] } },
      Queue: {
        Type: 'AWS::SQS::Queue',
        Properties: { Tags: [{ Key: 'k', Value: { Ref: 'AWS::StackName' } }] },
      },
    },
    Outputs: {
      ParamName: { Value: { Ref: 'Param' } },
      FnArn: { Value: { 'Fn::GetAtt': ['Fn', 'Arn'] } },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax
      ChainArn: { Value: { 'Fn::Sub': ['${X}', { X: { Ref: 'Policy' } }] } },
    },
  };
  const out = localstackTemplate(t);
  expect(Object.keys(out.Resources).sort()).toEqual(['Param', 'Queue', 'Secret']);
  expect(Object.keys(out.Outputs ?? {})).toEqual(['ParamName']);
  expect([...LOCALSTACK_RESOURCE_TYPES]).not.toContain('AWS::Lambda::Function');
});

it('keeps only the parameters and conditions that what it keeps uses', () => {
  const t: CfnTemplate = {
    Parameters: { VpcId: { Type: 'AWS::EC2::VPC::Id' }, Retention: { Type: 'Number', Default: 60 } },
    Conditions: {
      Long: { 'Fn::Equals': [{ Ref: 'Retention' }, 60] },
      LongAndNamed: { 'Fn::And': [{ Condition: 'Long' }, { 'Fn::Equals': ['a', 'a'] }] },
      InVpc: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'VpcId' }, ''] }] },
    },
    Resources: {
      Sg: { Type: 'AWS::EC2::SecurityGroup', Condition: 'InVpc', Properties: { VpcId: { Ref: 'VpcId' } } },
      Queue: {
        Type: 'AWS::SQS::Queue',
        Condition: 'LongAndNamed',
        Properties: { MessageRetentionPeriod: { 'Fn::If': ['Long', { Ref: 'Retention' }, 60] } },
      },
    },
  };
  const out = localstackTemplate(t);
  expect(Object.keys(out.Resources)).toEqual(['Queue']);
  expect(Object.keys(out['Parameters'] as object)).toEqual(['Retention']);
  expect(Object.keys(out['Conditions'] as object).sort()).toEqual(['Long', 'LongAndNamed']);
});
