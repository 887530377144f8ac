// Pins down the local SQS trigger (infra/local/sqs-trigger.ts) against the stack's real queue
// emulator, not only the in-memory queue of tests/unit/sqs-trigger.test.ts: it polls ahead so two
// invocations do run side by side, never more than maximumConcurrency, and every message is handed
// to the function exactly once and deleted after it succeeded.
import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { expect, it } from 'vitest';
import { createOrderQueues, localSqsClient } from '../../infra/local/services';
import { startSqsTrigger } from '../../infra/local/sqs-trigger';
import { waitUntil } from '../helpers/domain';

const MESSAGES = 400;
const MAXIMUM_CONCURRENCY = 2;

/** Sends messages "0", "1", … (`count`, a multiple of 10) to the queue; its attributes with its ARN. */
async function filled(sqs: SQSClient, queue_url: string, count: number) {
  for (let i = 0; i < count; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue_url,
        Entries: Array.from({ length: 10 }, (_, j) => ({ Id: `m${j}`, MessageBody: String(i + j) })),
      }),
    );
  }
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queue_url, AttributeNames: ['QueueArn'] }),
  );
  return Attributes;
}

it('on the real emulator: at most maximumConcurrency invocations at once, two reached, every message once', async () => {
  const sqs = localSqsClient(process.env['SQS_ENDPOINT']!);
  const tag = randomUUID().slice(0, 8);
  const pair = await createOrderQueues(sqs, { queue: `trigger-${tag}`, dlq: `trigger-${tag}-dlq` });
  const Attributes = await filled(sqs, pair.queueUrl, MESSAGES);

  let in_flight = 0;
  let in_flight_max = 0;
  const seen = new Map<string, number>();
  const trigger = startSqsTrigger({
    sqs,
    queueUrl: pair.queueUrl,
    queueArn: Attributes!['QueueArn']!,
    batch_size: 25,
    maximum_batching_window_s: 0.2,
    maximum_concurrency: MAXIMUM_CONCURRENCY,
    async invoke(event: SQSEvent) {
      in_flight++;
      in_flight_max = Math.max(in_flight_max, in_flight);
      for (const r of event.Records) seen.set(r.body, (seen.get(r.body) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 30)); // a persist batch's write
      in_flight--;
      return { batchItemFailures: [] };
    },
  });
  try {
    await waitUntil('every message handed over', async () => seen.size === MESSAGES, 60_000);
    await waitUntil(
      'every message deleted',
      async () => {
        const a = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: pair.queueUrl,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        return (
          a.Attributes!['ApproximateNumberOfMessages'] === '0' &&
          a.Attributes!['ApproximateNumberOfMessagesNotVisible'] === '0'
        );
      },
      30_000,
    );
  } finally {
    await trigger.stop();
  }
  expect(in_flight_max).toBe(MAXIMUM_CONCURRENCY);
  expect([...seen.values()].every((n) => n === 1)).toBe(true);
  expect(trigger.stats).toMatchObject({ records: MESSAGES, failed_records: 0, invoke_errors: 0 });
});

it('a batch gathered while the previous invocation runs gets the whole visibility timeout from its own invocation: no message handed over twice (before, held past the timeout, taken again)', async () => {
  const sqs = localSqsClient(process.env['SQS_ENDPOINT']!);
  const tag = randomUUID().slice(0, 8);
  // Each invocation takes 1.8 s of a 3 s visibility timeout, as a slow persist batch takes most of
  // the 20 s function timeout within the stack's 30 s. Lambda invokes a batch right after
  // receiving it, so a function that returns within the timeout never meets its messages again.
  const pair = await createOrderQueues(
    sqs,
    { queue: `trigger-held-${tag}`, dlq: `trigger-held-${tag}-dlq` },
    { visibility_timeout_s: 3, max_receive_count: 10 },
  );
  const total = 40;
  const Attributes = await filled(sqs, pair.queueUrl, total);
  const seen = new Map<string, number>();
  const trigger = startSqsTrigger({
    sqs,
    queueUrl: pair.queueUrl,
    queueArn: Attributes!['QueueArn']!,
    batch_size: 10,
    maximum_batching_window_s: 0,
    maximum_concurrency: 2,
    async invoke(event: SQSEvent) {
      for (const r of event.Records) seen.set(r.body, (seen.get(r.body) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 1800));
      return { batchItemFailures: [] };
    },
  });
  try {
    await waitUntil('every message handed over', async () => seen.size === total, 60_000);
    await new Promise((r) => setTimeout(r, 5000)); // a message taken again would be handed over by now
  } finally {
    await trigger.stop();
  }
  const twice = [...seen].filter(([, n]) => n > 1).map(([body]) => body);
  expect(twice, 'handed over more than once').toEqual([]);
}, 90_000);
