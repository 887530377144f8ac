// Pins down the DLQ re-drive (lib/queue/dlq.ts) on an in-memory queue: --max N moves N and never
// receives more (a message received past the limit would sit invisible, moved by no one), and a
// message is deleted from the DLQ only after its re-send.
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { redrive } from '../../lib/queue/dlq';

function fakeQueues(count: number) {
  const dlq: Message[] = Array.from({ length: count }, (_, i) => ({ ReceiptHandle: `r${i}`, Body: `${i}` }));
  const queue: string[] = [];
  const received: number[] = [];
  const sqs = {
    async send(cmd: unknown) {
      if (cmd instanceof ReceiveMessageCommand) {
        const n = cmd.input.MaxNumberOfMessages ?? 1;
        received.push(n);
        return { Messages: dlq.slice(0, n) }; // in flight until deleted
      }
      if (cmd instanceof SendMessageBatchCommand) {
        for (const e of cmd.input.Entries ?? []) queue.push(e.MessageBody!);
        return { Successful: cmd.input.Entries };
      }
      if (cmd instanceof DeleteMessageBatchCommand) {
        const handles = new Set((cmd.input.Entries ?? []).map((e) => e.ReceiptHandle));
        dlq.splice(0, dlq.length, ...dlq.filter((m) => !handles.has(m.ReceiptHandle)));
        return { Successful: cmd.input.Entries };
      }
      throw new Error(`unexpected command ${String(cmd)}`);
    },
  } as unknown as SQSClient;
  return { sqs, dlq, queue, received };
}

describe('redrive', () => {
  it('moves at most max_messages and receives no more than it may still move', async () => {
    const q = fakeQueues(25);
    expect(await redrive(q.sqs, 'dlq', 'queue', 12)).toBe(12);
    expect(q.received).toEqual([10, 2]);
    expect(q.queue).toEqual(Array.from({ length: 12 }, (_, i) => `${i}`));
    expect(q.dlq).toHaveLength(13);
  });

  it('moves everything below the limit, in batches of 10', async () => {
    const q = fakeQueues(5);
    expect(await redrive(q.sqs, 'dlq', 'queue', 5)).toBe(5);
    expect(q.received).toEqual([5]);
    expect(await redrive(q.sqs, 'dlq', 'queue')).toBe(0);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses max_messages %s', async (max) => {
    await expect(redrive(fakeQueues(1).sqs, 'dlq', 'queue', max)).rejects.toThrow(/max_messages/);
  });
});
