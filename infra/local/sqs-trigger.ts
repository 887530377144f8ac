// A local stand-in for Lambda's SQS event source mapping: long-polls the queue, gathers a batch
// (batch size + batching window), invokes the function, deletes only what succeeded
// (ReportBatchItemFailures). Failed records stay invisible until the visibility timeout, come back
// with a higher receive count, and the queue's redrive policy moves them to the DLQ after
// maxReceiveCount. `maximumConcurrency` pollers run side by side.
// Like Lambda's pollers, each one polls ahead: it gathers its next batch (several receives in
// parallel once messages flow) while its previous batch is still being persisted, so the queue is
// read while PostgreSQL writes. At most one batch per poller waits gathered, as long as its
// previous invocation still runs (a few hundred ms usually, up to the function timeout); at most
// `maximumConcurrency` invocations run at once.
// What bounds concurrency is the invocation, as in AWS: once the function has returned, its batch's
// deletes (one DeleteMessageBatch per 10, all at once) run while the poller invokes its next batch.
// A batch held longer than a moment (its poller's previous invocation was slow) gets the queue's
// whole visibility timeout again just before its own invocation, as Lambda's function gets it from
// a receive right before the invoke: otherwise held time plus invocation time (up to 20 s each here,
// within 30 s of visibility) let its messages reappear and a second invocation take them.
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { packBySize } from '../../lib/queue/pack';

export interface TriggerOpts {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  invoke: (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;
  batch_size: number;
  maximum_batching_window_s: number;
  maximum_concurrency: number;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

export interface TriggerStats {
  invocations: number;
  records: number;
  failed_records: number;
  invoke_errors: number;
}

export interface Trigger {
  stats: TriggerStats;
  stop(): Promise<void>;
}

const RECEIVE_MAX = 10; // SQS returns at most 10 messages per ReceiveMessage
/** receives in flight at once per poller while a batch fills (Lambda starts with five pollers) */
const RECEIVE_PARALLEL = 5;

/** A batch held longer than this before its invocation has its visibility timeout renewed first. */
const HELD_RENEW_AFTER_MS = 1000;

export function startSqsTrigger(opts: TriggerOpts): Trigger {
  const stats: TriggerStats = { invocations: 0, records: 0, failed_records: 0, invoke_errors: 0 };
  const abort = new AbortController();
  const log = opts.log ?? (() => {});
  const visibility = queueVisibility(opts);
  const loops = Array.from({ length: opts.maximum_concurrency }, () =>
    pollLoop(opts, stats, abort.signal, log, visibility),
  );
  return {
    stats,
    async stop() {
      abort.abort();
      await Promise.allSettled(loops);
    },
  };
}

async function pollLoop(
  opts: TriggerOpts,
  stats: TriggerStats,
  signal: AbortSignal,
  log: NonNullable<TriggerOpts['log']>,
  visibility: () => Promise<number>,
): Promise<void> {
  let failing = false; // log the first failure and the recovery, not every retry
  let invoking: Promise<unknown> | null = null; // the previous batch's invocation
  const deleting: Promise<void>[] = []; // the deletes of the batches before it, at most two
  while (!signal.aborted) {
    try {
      const gathered = await gatherBatch(opts, signal);
      if (failing) log('sqs trigger: polling again');
      failing = false;
      if (gathered.length === 0) continue;
      const received_ms = Date.now();
      await invoking; // one invocation per poller: maximumConcurrency in all
      // The previous batch's deletes may still run beside this invocation; older ones may not.
      if (deleting.length > 1) await deleting.shift();
      const batch =
        Date.now() - received_ms > HELD_RENEW_AFTER_MS
          ? await renewVisibility(opts, gathered, visibility, log)
          : gathered;
      if (batch.length === 0) continue;
      const settled = invokeAndSettle(opts, batch, stats, log);
      invoking = settled.invoked;
      deleting.push(
        settled.deleted.catch((err) => {
          // the deletes failed: the messages come back after the visibility timeout
          log('sqs trigger: settling a batch failed', { error: String(err), records: batch.length });
        }),
      );
    } catch (err) {
      if (signal.aborted) break;
      if (!failing) log('sqs trigger: poll failed, retrying every 500 ms', { error: String(err) });
      failing = true;
      await sleep(500, signal);
    }
  }
  await invoking;
  await Promise.all(deleting);
}

/**
 * Receive until the batch is full or the batching window closes (the first message opens it). An
 * empty queue gets one long poll; once messages flow, up to RECEIVE_PARALLEL receives at a time.
 */
async function gatherBatch(opts: TriggerOpts, signal: AbortSignal): Promise<Message[]> {
  const batch: Message[] = [];
  let window_ends_ms = Number.POSITIVE_INFINITY;
  while (batch.length < opts.batch_size && Date.now() < window_ends_ms && !signal.aborted) {
    const wait_s = batch.length === 0 ? 1 : Math.max(0, Math.ceil((window_ends_ms - Date.now()) / 1000));
    const wanted = opts.batch_size - batch.length;
    const receives = batch.length === 0 ? 1 : Math.min(RECEIVE_PARALLEL, Math.ceil(wanted / RECEIVE_MAX));
    const replies = await Promise.all(
      Array.from({ length: receives }, (_, i) =>
        opts.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: opts.queueUrl,
            MaxNumberOfMessages: Math.min(RECEIVE_MAX, wanted - i * RECEIVE_MAX),
            WaitTimeSeconds: Math.min(wait_s, 1),
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: signal },
        ),
      ),
    );
    const got = replies.flatMap((r) => r.Messages ?? []);
    if (got.length === 0 && batch.length === 0) return batch;
    if (batch.length === 0 && got.length > 0)
      window_ends_ms = Date.now() + opts.maximum_batching_window_s * 1000;
    batch.push(...got);
    if (got.length === 0) break;
  }
  return batch;
}

/** The queue's visibility timeout in seconds, read once when first needed. */
function queueVisibility(opts: TriggerOpts): () => Promise<number> {
  let read: Promise<number> | null = null;
  return () => {
    read ??= opts.sqs
      .send(new GetQueueAttributesCommand({ QueueUrl: opts.queueUrl, AttributeNames: ['VisibilityTimeout'] }))
      .then((r) => Number(r.Attributes?.['VisibilityTimeout'] ?? 30));
    read.catch(() => {
      read = null; // read again next time
    });
    return read;
  };
}

/**
 * The held batch's messages, each invisible again for the queue's whole visibility timeout from
 * now. A message whose renewal is refused (its timeout ran out and another receive holds it, or it
 * is gone) is left to whoever holds it now. If the renewal itself fails, the batch goes as it is.
 */
async function renewVisibility(
  opts: TriggerOpts,
  batch: Message[],
  visibility: () => Promise<number>,
  log: NonNullable<TriggerOpts['log']>,
): Promise<Message[]> {
  try {
    const timeout_s = await visibility();
    const refused = new Set<string>();
    await Promise.all(
      chunksOf(batch, RECEIVE_MAX).map(async (chunk) => {
        const r = await opts.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: opts.queueUrl,
            Entries: chunk.map((m, j) => ({
              Id: String(j),
              ReceiptHandle: m.ReceiptHandle!,
              VisibilityTimeout: timeout_s,
            })),
          }),
        );
        for (const f of r.Failed ?? []) refused.add(chunk[Number(f.Id)]!.MessageId!);
      }),
    );
    if (refused.size > 0)
      log('sqs trigger: held messages taken by another receive', { records: refused.size });
    return batch.filter((m) => !refused.has(m.MessageId!));
  } catch (err) {
    log('sqs trigger: renewing a held batch failed; invoking it as it is', { error: String(err) });
    return batch;
  }
}

const chunksOf = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * Most bytes of one invocation's event. Lambda's synchronous invoke takes 6 MiB (serverless-offline's
 * invoke endpoint refuses more, 413), and its SQS event source mapping never builds a bigger batch:
 * it invokes with the records that fit. A few big messages (1 MiB each in fauxqs) in one batch of
 * 100 made the whole event too big: every invocation failed, and the batch's orders went to the DLQ
 * with them. What does not fit goes in a further invocation, in the same concurrency slot.
 */
export const INVOKE_EVENT_BYTES_MAX = 6 * 1024 * 1024 - 64 * 1024;

/** The records in events of at most INVOKE_EVENT_BYTES_MAX bytes, in order. */
function eventsOf(records: SQSRecord[]): SQSRecord[][] {
  // +1: the comma between records in the event's JSON
  return packBySize(records, (r) => Buffer.byteLength(JSON.stringify(r), 'utf8') + 1, INVOKE_EVENT_BYTES_MAX);
}

/**
 * Invokes the function with the batch (in more than one event if it is too big for one);
 * `invoked` resolves when it has returned (its concurrency slot is free), `deleted` when what
 * succeeded has been deleted from the queue.
 */
function invokeAndSettle(
  opts: TriggerOpts,
  batch: Message[],
  stats: TriggerStats,
  log: NonNullable<TriggerOpts['log']>,
): { invoked: Promise<unknown>; deleted: Promise<void> } {
  stats.records += batch.length;
  const invoked = (async () => {
    const failed = new Set<string>();
    for (const records of eventsOf(batch.map((m) => toRecord(m, opts.queueArn)))) {
      for (const id of await invokeOnce(opts, records, stats, log)) failed.add(id);
    }
    return failed;
  })();
  const deleted = invoked.then(async (failedIds) => {
    stats.failed_records += failedIds.size;
    const done = batch.filter((m) => !failedIds.has(m.MessageId!));
    const chunks = Array.from({ length: Math.ceil(done.length / RECEIVE_MAX) }, (_, i) =>
      done.slice(i * RECEIVE_MAX, (i + 1) * RECEIVE_MAX),
    );
    await Promise.all(
      chunks.map(async (chunk) => {
        const out = await opts.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: opts.queueUrl,
            Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
        // A delete refused entry by entry (an expired receipt handle) answers 200 all the same:
        // those messages come back after their visibility timeout and are persisted again (idempotent).
        if (out.Failed?.length)
          log('sqs trigger: some deletes failed; those messages will be delivered again', {
            failed: out.Failed.map((f) => ({ message_id: chunk[Number(f.Id)]?.MessageId, code: f.Code })),
          });
      }),
    );
  });
  return { invoked, deleted };
}

/** One invocation: the messageIds of its records that failed (all of them when it failed whole). */
async function invokeOnce(
  opts: TriggerOpts,
  records: SQSRecord[],
  stats: TriggerStats,
  log: NonNullable<TriggerOpts['log']>,
): Promise<string[]> {
  stats.invocations++;
  const ids = records.map((r) => r.messageId);
  try {
    const res = await opts.invoke({ Records: records });
    const failed = failedIds(res, ids);
    if (failed !== null) return [...failed];
    log('sqs trigger: a batchItemFailures entry names no record of the batch; the whole batch returns', {
      response: JSON.stringify(res).slice(0, 300),
      records: records.length,
    });
  } catch (err) {
    // A function error fails the whole batch: nothing is deleted, everything comes back.
    stats.invoke_errors++;
    log('sqs trigger: invocation failed; batch returns to the queue', {
      error: String(err),
      records: records.length,
    });
  }
  return ids;
}

/**
 * The records a response reports as failed, or null when Lambda would fail the whole batch: a
 * `batchItemFailures` that is not a list, or an entry whose itemIdentifier is empty, missing or not
 * the messageId of a record of the batch (AWS, "Reporting batch item failures"). Before, such an
 * entry was ignored and every record deleted: a function reporting the wrong identifier lost here the
 * messages that Lambda would have retried.
 */
function failedIds(res: SQSBatchResponse | undefined, records: string[]): Set<string> | null {
  if (res == null) return new Set();
  const failures: unknown = (res as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return null;
  const ids = new Set(records);
  const failed = new Set<string>();
  for (const f of failures) {
    const id: unknown = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !ids.has(id)) return null;
    failed.add(id);
  }
  return failed;
}

function toRecord(m: Message, queueArn: string): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a['ApproximateReceiveCount'] ?? '1',
      SentTimestamp: a['SentTimestamp'] ?? String(Date.now()),
      SenderId: a['SenderId'] ?? 'local',
      ApproximateFirstReceiveTimestamp: a['ApproximateFirstReceiveTimestamp'] ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3] ?? 'us-east-1',
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Invokes a function through serverless-offline's Lambda endpoint (the AWS Invoke API). */
export function offlineInvoker(lambdaPort: number, functionName: string) {
  const url = `http://127.0.0.1:${lambdaPort}/2015-03-31/functions/${functionName}/invocations`;
  return async (event: SQSEvent): Promise<SQSBatchResponse | undefined> => {
    const res = await fetch(url, { method: 'POST', body: JSON.stringify(event) });
    const text = await res.text();
    if (!res.ok) throw new Error(`invoke ${functionName}: HTTP ${res.status} ${text.slice(0, 300)}`);
    if (res.headers.get('x-amz-function-error')) throw new Error(`function error: ${text.slice(0, 300)}`);
    return text ? (JSON.parse(text) as SQSBatchResponse) : undefined;
  };
}
