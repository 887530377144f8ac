// Pins down that under LocalStack the stack runs serverless.yml's own resources: the orders queue
// and DLQ the functions use are the ones LocalStack's CloudFormation created from the packaged
// template, with exactly the attributes serverless.yml gives them. Runs only with LOCAL_SQS=localstack
// (vitest.config.ts adds this folder then) and fails, never skips, if the endpoint is not LocalStack.
import { DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { expect, it } from 'vitest';
import {
  CFN_STACK_NAME,
  localCfnClient,
  localstackTemplate,
  packagedTemplate,
} from '../../infra/local/localstack-stack';
import { localSqsClient } from '../../infra/local/services';

const endpoint = process.env['SQS_ENDPOINT']!;
const sqs = localSqsClient(endpoint);
const attributes = async (url: string) =>
  (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes ??
  {};
const props = (id: string) => packagedTemplate().Resources[id]!.Properties as Record<string, unknown>;

it('the queue endpoint is LocalStack 4.14.0', async () => {
  const health = (await (await fetch(`${endpoint}/_localstack/health`)).json()) as { version: string };
  expect(health.version).toBe('4.14.0');
});

it('every resource the rule selects is deployed, and the functions use its queues', async () => {
  const { StackResources } = await localCfnClient(endpoint).send(
    new DescribeStackResourcesCommand({ StackName: CFN_STACK_NAME }),
  );
  const deployed = Object.fromEntries((StackResources ?? []).map((r) => [r.LogicalResourceId, r]));
  // A resource with a Condition (the alarm subscription: no endpoint given) may rightly be absent.
  const selected = localstackTemplate(packagedTemplate()).Resources;
  const wanted = Object.keys(selected)
    .filter((id) => !selected[id]!.Condition)
    .sort();
  expect(Object.keys(deployed).sort()).toEqual(wanted);
  for (const id of wanted) expect(deployed[id]?.ResourceStatus, id).toBe('CREATE_COMPLETE');
  expect(deployed['OrdersQueue']?.PhysicalResourceId).toBe(process.env['ORDERS_QUEUE_URL']);
  expect(deployed['OrdersDLQ']?.PhysicalResourceId).toBe(process.env['ORDERS_DLQ_URL']);
});

it("the deployed queues' attributes equal serverless.yml's", async () => {
  const queue = await attributes(process.env['ORDERS_QUEUE_URL']!);
  const dlq = await attributes(process.env['ORDERS_DLQ_URL']!);
  const q = props('OrdersQueue');
  const d = props('OrdersDLQ');
  expect(queue['QueueArn']?.split(':').at(-1)).toBe(q['QueueName']);
  expect(queue['VisibilityTimeout']).toBe(String(q['VisibilityTimeout']));
  expect(queue['MessageRetentionPeriod']).toBe(String(q['MessageRetentionPeriod']));
  const redrive = JSON.parse(queue['RedrivePolicy']!) as {
    deadLetterTargetArn: string;
    maxReceiveCount: unknown;
  };
  expect(redrive.deadLetterTargetArn).toBe(dlq['QueueArn']);
  expect(Number(redrive.maxReceiveCount)).toBe(
    (q['RedrivePolicy'] as { maxReceiveCount: number }).maxReceiveCount,
  );
  expect(dlq['QueueArn']?.split(':').at(-1)).toBe(d['QueueName']);
  expect(dlq['MessageRetentionPeriod']).toBe(String(d['MessageRetentionPeriod']));
});
