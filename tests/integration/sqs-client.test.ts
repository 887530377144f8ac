// Pins down the product's SQS client (lib/queue/sqs.ts) against the stack's real queue emulator: with
// its middleware stack resolved once per command type (`cacheMiddleware`) and its endpoint given
// parsed, different commands through one client still each reach the endpoint as themselves, a
// refused send rejects without spoiling the next one, and the message read back is the order sent.
import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { expect, it } from 'vitest';
import { createOrderQueues, localSqsClient } from '../../infra/local/services';
import { newSqsClient, sqsOrderQueue } from '../../lib/queue/sqs';
import { benchOrder } from '../../load/bench/sdk-isolation';

it('one client, commands of several types interleaved, a refused send between: each does its own work', async () => {
  const tag = randomUUID().slice(0, 8);
  const pair = await createOrderQueues(localSqsClient(process.env['SQS_ENDPOINT']!), {
    queue: `client-${tag}`,
    dlq: `client-${tag}-dlq`,
  });
  const client = newSqsClient();
  const queue = sqsOrderQueue(client, pair.queueUrl);
  const sent = [benchOrder(1, 'buyer-a'), benchOrder(2, 'bü-😀')];

  await queue.send(sent[0]!);
  const attributes = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: pair.queueUrl, AttributeNames: ['QueueArn'] }),
  );
  expect(attributes.Attributes?.['QueueArn']).toMatch(/client-/);
  await expect(
    client.send(new SendMessageCommand({ QueueUrl: `${pair.queueUrl}-missing`, MessageBody: '{}' })),
  ).rejects.toThrow();
  await queue.send(sent[1]!);

  const bodies: unknown[] = [];
  for (let i = 0; i < 5 && bodies.length < 2; i++) {
    const got = await client.send(
      new ReceiveMessageCommand({ QueueUrl: pair.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const m of got.Messages ?? []) bodies.push(JSON.parse(m.Body!));
  }
  expect(bodies).toEqual(sent);
  client.destroy();
});
