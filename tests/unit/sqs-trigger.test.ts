// Pins down the local stand-in for Lambda's SQS event source mapping (infra/local/sqs-trigger.ts) on
// an in-memory queue: it polls ahead but never runs more invocations than maximumConcurrency, a
// batching window gathers a batch across receives, it deletes exactly what succeeded
// (ReportBatchItemFailures), and a failed invocation deletes nothing.
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { INVOKE_EVENT_BYTES_MAX, startSqsTrigger, type TriggerOpts } from '../../infra/local/sqs-trigger';

/** A queue that hands out its messages once each (no visibility timeout) and records the deletes. */
function fakeQueue(count: number, opts: { refuseRenewal?: Set<string>; body?: (i: number) => string } = {}) {
  const waiting: Message[] = Array.from({ length: count }, (_, i) => ({
    MessageId: `m${i}`,
    ReceiptHandle: `r${i}`,
    Body: opts.body?.(i) ?? JSON.stringify({ i }),
  }));
  const deleted: string[] = [];
  const renewed: string[] = [];
  const sqs = {
    async send(cmd: unknown) {
      await new Promise((r) => setTimeout(r, 1));
      if (cmd instanceof ReceiveMessageCommand) {
        return { Messages: waiting.splice(0, cmd.input.MaxNumberOfMessages ?? 1) };
      }
      if (cmd instanceof DeleteMessageBatchCommand) {
        for (const e of cmd.input.Entries ?? []) deleted.push(e.ReceiptHandle!);
        return { Successful: cmd.input.Entries, Failed: [] };
      }
      if (cmd instanceof GetQueueAttributesCommand) return { Attributes: { VisibilityTimeout: '30' } };
      if (cmd instanceof ChangeMessageVisibilityBatchCommand) {
        const entries = cmd.input.Entries ?? [];
        const refused = entries.filter((e) => opts.refuseRenewal?.has(e.ReceiptHandle!));
        for (const e of entries)
          if (!refused.includes(e) && e.VisibilityTimeout === 30) renewed.push(e.ReceiptHandle!);
        return {
          Successful: entries.filter((e) => !refused.includes(e)).map((e) => ({ Id: e.Id })),
          Failed: refused.map((e) => ({ Id: e.Id, SenderFault: true, Code: 'ReceiptHandleIsInvalid' })),
        };
      }
      throw new Error(`unexpected command ${String(cmd)}`);
    },
  } as unknown as SQSClient;
  return { sqs, deleted, renewed, left: () => waiting.length };
}

async function drain(
  count: number,
  invoke: TriggerOpts['invoke'],
  maximum_concurrency = 2,
  until: (deleted: string[]) => boolean = (d) => d.length === count,
  maximum_batching_window_s = 1,
) {
  const q = fakeQueue(count);
  const trigger = startSqsTrigger({
    sqs: q.sqs,
    queueUrl: 'http://queue',
    queueArn: 'arn:aws:sqs:us-east-1:000000000000:orders',
    invoke,
    batch_size: 100,
    maximum_batching_window_s,
    maximum_concurrency,
  });
  const deadline = Date.now() + 10_000;
  while (!until(q.deleted) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await trigger.stop();
  return { ...q, stats: trigger.stats };
}

describe('local SQS trigger', () => {
  it('runs at most maximumConcurrency invocations at once, and reaches it while polling ahead', async () => {
    let running = 0;
    let most = 0;
    const seen: string[] = [];
    const r = await drain(2000, async (e: SQSEvent) => {
      running++;
      most = Math.max(most, running);
      seen.push(...e.Records.map((x) => x.messageId));
      await new Promise((res) => setTimeout(res, 20));
      running--;
      return { batchItemFailures: [] };
    });
    expect(most).toBe(2);
    expect(r.stats.records).toBe(2000);
    expect(new Set(seen).size).toBe(2000);
    expect(r.deleted.length).toBe(2000);
    expect(new Set(r.deleted).size).toBe(2000);
    expect(r.stats.invocations).toBeLessThanOrEqual(2000 / 10); // batches, not single messages
  });

  it('a batching window fills a batch across receives; window 0 hands over each receive as it comes', async () => {
    const sizes = (window_s: number) => {
      const seen: number[] = [];
      return drain(
        35,
        async (e: SQSEvent) => {
          seen.push(e.Records.length);
          return { batchItemFailures: [] };
        },
        1,
        (d) => d.length === 35,
        window_s,
      ).then(() => seen);
    };
    // 35 waiting, 10 per receive: one batch of all 35 within the window, or a batch per receive.
    expect(await sizes(1)).toEqual([35]);
    expect(await sizes(0)).toEqual([10, 10, 10, 5]);
  });

  it('deletes what succeeded and keeps the records a batch reports as failed', async () => {
    const failed = new Set<string>();
    const r = await drain(
      300,
      async (e: SQSEvent): Promise<SQSBatchResponse> => {
        const bad = e.Records.filter((x) => Number(x.messageId.slice(1)) % 7 === 0);
        for (const b of bad) failed.add(b.messageId);
        return { batchItemFailures: bad.map((b) => ({ itemIdentifier: b.messageId })) };
      },
      2,
      (d) => d.length + failed.size === 300,
    );
    expect(failed.size).toBe(43);
    expect(r.deleted.length).toBe(300 - 43);
    for (const id of failed) expect(r.deleted).not.toContain(`r${id.slice(1)}`);
    expect(r.stats.failed_records).toBe(43);
  });

  it('a failed invocation deletes nothing of its batch', async () => {
    let calls = 0;
    const r = await drain(
      200,
      async () => {
        calls++;
        throw new Error('function error');
      },
      1,
      () => calls >= 2,
    );
    expect(r.deleted).toEqual([]);
    expect(r.stats.invoke_errors).toBe(calls);
    expect(r.stats.failed_records).toBe(r.stats.records);
  });

  it('a batch held past a moment gets its visibility renewed before its invocation; a message another receive took is left out', async () => {
    // The first batch's invocation is slow: the second, gathered meanwhile, waits for it.
    const q = fakeQueue(20, { refuseRenewal: new Set(['r13']) });
    const batches: string[][] = [];
    const trigger = startSqsTrigger({
      sqs: q.sqs,
      queueUrl: 'http://queue',
      queueArn: 'arn:aws:sqs:us-east-1:000000000000:orders',
      async invoke(e: SQSEvent) {
        batches.push(e.Records.map((x) => x.messageId));
        if (batches.length === 1) await new Promise((r) => setTimeout(r, 1300));
        return { batchItemFailures: [] };
      },
      batch_size: 10,
      maximum_batching_window_s: 0,
      maximum_concurrency: 1,
    });
    const deadline = Date.now() + 10_000;
    while (batches.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await trigger.stop();
    expect(batches[0]).toHaveLength(10);
    expect(q.renewed.sort()).toEqual(['r10', 'r11', 'r12', 'r14', 'r15', 'r16', 'r17', 'r18', 'r19']);
    expect(batches[1], 'm13 is held by another receive now').toEqual([
      'm10',
      'm11',
      'm12',
      'm14',
      'm15',
      'm16',
      'm17',
      'm18',
      'm19',
    ]);
  });

  it('a failure naming no record of the batch fails the whole batch, as Lambda does; nothing deleted', async () => {
    for (const itemIdentifier of ['not-a-message-id', '', null]) {
      let calls = 0;
      const r = await drain(
        20,
        async () => {
          calls++;
          return { batchItemFailures: [{ itemIdentifier: itemIdentifier as string }] };
        },
        1,
        () => calls >= 1, // stop() waits for the batch's deletes
      );
      expect(r.deleted, `itemIdentifier ${JSON.stringify(itemIdentifier)}`).toEqual([]);
      expect(r.stats.failed_records).toBe(r.stats.records);
    }
  });

  it('a batch too big for one invocation (6 MiB) goes in several, each record once, all deleted', async () => {
    // Ten messages of 1 MiB, one receive: one event of them all was over Lambda's (and
    // serverless-offline's) invoke limit, and every invocation of the batch failed.
    const q = fakeQueue(10, { body: (i) => `${i} ${'x'.repeat(1024 * 1024 - 16)}` });
    const events: { bytes: number; ids: string[] }[] = [];
    const trigger = startSqsTrigger({
      sqs: q.sqs,
      queueUrl: 'http://queue',
      queueArn: 'arn:aws:sqs:us-east-1:000000000000:orders',
      async invoke(e: SQSEvent) {
        events.push({ bytes: Buffer.byteLength(JSON.stringify(e)), ids: e.Records.map((r) => r.messageId) });
        return { batchItemFailures: [] };
      },
      batch_size: 10,
      maximum_batching_window_s: 0,
      maximum_concurrency: 1,
    });
    const deadline = Date.now() + 10_000;
    while (q.deleted.length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await trigger.stop();
    expect(events.length).toBe(2);
    for (const e of events) expect(e.bytes).toBeLessThanOrEqual(INVOKE_EVENT_BYTES_MAX);
    expect(events.flatMap((e) => e.ids).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
    expect(q.deleted.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`).sort());
  });
});
