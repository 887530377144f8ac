// Drain: how fast persistOrders writes a backlog through the local SQS trigger, against the
// emulator's own receive+delete rate. The backlog is made the way createOrder makes orders (the
// domain's reserveOrder against Redis), only faster: the messages are collected and sent in batches
// of 10 instead of one SendMessage per request, so building 100k orders takes seconds.
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { startSqsTrigger, type TriggerOpts } from '../../infra/local/sqs-trigger';
import { queueDepth } from '../../lib/queue/dlq';
import type { Inventory } from '../../lib/sale/ports';
import { reserveOrder } from '../../lib/sale/reserve';
import type { AcceptedOrder } from '../../lib/sale/types';

const SEND_BATCH = 10; // SQS SendMessageBatch takes at most 10 entries

/** Reserves `count` orders of one unit through the domain, returning the messages they produced. */
export async function reserveBacklog(
  inventory: Inventory,
  product_id: number,
  count: number,
  in_flight = 256,
): Promise<AcceptedOrder[]> {
  const out: AcceptedOrder[] = [];
  const queue = { send: async (o: AcceptedOrder) => void out.push(o) };
  const log = { info() {}, warn() {}, error() {} };
  let next = 0;
  await Promise.all(
    Array.from({ length: in_flight }, async () => {
      while (next < count) {
        const i = next++;
        const r = await reserveOrder(
          { inventory, queue, log },
          { customer_id: `drain-${i % 5000}`, product_id, qty: 1, idempotency_key: null },
        );
        if (r.kind !== 'reserved') throw new Error(`backlog reserve ${i}: ${r.kind}`);
      }
    }),
  );
  return out;
}

export async function sendAll(sqs: SQSClient, queueUrl: string, bodies: string[], in_flight = 32) {
  let next = 0;
  await Promise.all(
    Array.from({ length: in_flight }, async () => {
      while (next < bodies.length) {
        const start = next;
        next += SEND_BATCH;
        const chunk = bodies.slice(start, start + SEND_BATCH);
        const r = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((b, j) => ({ Id: String(j), MessageBody: b })),
          }),
        );
        if (r.Failed?.length) throw new Error(`send batch: ${r.Failed.length} failed`);
      }
    }),
  );
}

export interface DrainRun {
  orders: number;
  seconds: number;
  per_s: number;
  invocations: number;
  records_per_invocation: number;
  /** persistOrders invoke round trip through serverless-offline, per batch */
  invoke_ms_mean: number;
  /** invocations in flight on average over the drain (invoke time / wall time; at most maximumConcurrency) */
  in_flight_mean: number;
  failed_records: number;
  /** CPU ms per 1,000 orders of each process group over the drain (load/bench/cpu.ts) */
  cpu_ms_per_1k?: Record<string, number>;
}

/**
 * Starts a trigger on the backlog queue (the product's batch size, window and concurrency) and
 * waits until `done()` says every order is in PostgreSQL.
 */
export async function drainThroughTrigger(
  opts: Omit<TriggerOpts, 'log'> & {
    orders: number;
    done: () => Promise<boolean>;
    timeout_ms: number;
  },
): Promise<DrainRun> {
  let invoke_ms = 0;
  let invokes = 0;
  const timed = async (e: SQSEvent) => {
    const t = performance.now();
    try {
      return await opts.invoke(e);
    } finally {
      invoke_ms += performance.now() - t;
      invokes++;
    }
  };
  const t0 = performance.now();
  const trigger = startSqsTrigger({ ...opts, invoke: timed });
  try {
    const deadline = Date.now() + opts.timeout_ms;
    while (!(await opts.done())) {
      if (Date.now() > deadline) throw new Error(`drain did not finish within ${opts.timeout_ms} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await trigger.stop();
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    orders: opts.orders,
    seconds,
    per_s: opts.orders / seconds,
    invocations: trigger.stats.invocations,
    records_per_invocation: trigger.stats.records / Math.max(1, trigger.stats.invocations),
    invoke_ms_mean: invoke_ms / Math.max(1, invokes),
    in_flight_mean: invoke_ms / 1000 / seconds,
    failed_records: trigger.stats.failed_records,
  };
}

/** The emulator alone: `concurrency` loops of ReceiveMessage(10) + DeleteMessageBatch until empty. */
export async function rawReceiveDelete(
  sqs: SQSClient,
  queueUrl: string,
  expected: number,
  concurrency: number,
): Promise<{ messages: number; seconds: number; per_s: number }> {
  let got = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (got < expected) {
        const r = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        const m = r.Messages ?? [];
        if (m.length === 0) {
          const d = await queueDepth(sqs, queueUrl);
          if (d.visible + d.in_flight === 0) return;
          continue;
        }
        got += m.length;
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: m.map((x, j) => ({ Id: String(j), ReceiptHandle: x.ReceiptHandle! })),
          }),
        );
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { messages: got, seconds, per_s: got / seconds };
}
