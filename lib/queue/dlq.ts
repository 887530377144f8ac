// The orders dead-letter queue: how many poison messages wait there, and the re-drive (receive,
// re-send to the orders queue, delete) once their cause is fixed. SQS's native message-move task
// does the same in AWS; the local emulator lacks it, so this works against both.
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { packBySize } from './pack';

export async function queueDepth(
  sqs: SQSClient,
  queue_url: string,
): Promise<{ visible: number; in_flight: number }> {
  const r = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queue_url,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return {
    visible: Number(r.Attributes?.['ApproximateNumberOfMessages'] ?? 0),
    in_flight:
      Number(r.Attributes?.['ApproximateNumberOfMessagesNotVisible'] ?? 0) +
      Number(r.Attributes?.['ApproximateNumberOfMessagesDelayed'] ?? 0),
  };
}

/**
 * Moves up to `max_messages` from the DLQ back to the queue; each is deleted only after its re-send.
 * It never receives more than it may still move: a message received past the limit would be
 * neither moved nor visible in the DLQ until its visibility timeout ran out.
 */
export async function redrive(
  sqs: SQSClient,
  from_dlq_url: string,
  to_queue_url: string,
  max_messages = 10_000,
): Promise<number> {
  if (!Number.isSafeInteger(max_messages) || max_messages < 1)
    throw new Error(`max_messages must be a whole number of at least 1, not ${max_messages}`);
  let moved = 0;
  while (moved < max_messages) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: from_dlq_url,
        MaxNumberOfMessages: Math.min(10, max_messages - moved), // 10: SQS's batch limit
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
      }),
    );
    const msgs = r.Messages ?? [];
    if (msgs.length === 0) break;
    const done: typeof msgs = [];
    for (const group of byBatchSize(msgs)) {
      const sent = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: to_queue_url,
          Entries: group.map((m, i) => ({ Id: String(i), MessageBody: m.Body ?? '' })),
        }),
      );
      const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
      done.push(...group.filter((_, i) => ok.has(String(i))));
    }
    if (done.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: from_dlq_url,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    }
    moved += done.length;
  }
  return moved;
}

/**
 * SendMessageBatch refuses a request whose bodies add up to more than SQS's batch limit
 * (BatchRequestTooLong: 256 KiB, 1 MiB since SQS raised it) though each message alone fits: ten
 * messages near the limit, received together, are sent in groups under the old, smaller limit (a
 * message above it goes alone). Before, such a DLQ could never be re-driven.
 */
export const SEND_BATCH_BYTES_MAX = 256 * 1024;

function byBatchSize<M extends { Body?: string }>(msgs: M[]): M[][] {
  return packBySize(msgs, (m) => Buffer.byteLength(m.Body ?? '', 'utf8'), SEND_BATCH_BYTES_MAX);
}

/** The QueueBacklog port: every message of the orders queue and of its DLQ. */
export function sqsBacklog(sqs: SQSClient, queue_url: string, dlq_url: string | undefined) {
  return {
    async depth() {
      const q = await queueDepth(sqs, queue_url);
      const d = dlq_url ? await queueDepth(sqs, dlq_url) : { visible: 0, in_flight: 0 };
      return { queue: q.visible + q.in_flight, dlq: d.visible + d.in_flight };
    },
  };
}
