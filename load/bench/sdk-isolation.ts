// SDK isolation: what the AWS SDK's own machinery costs per SendMessage, apart from the protocol.
// In one Node process of its own (its CPU is only this), against the stack's fauxqs, keep-alive:
// N sends of the same order message through the product's queue adapter and client factory
// (lib/queue/sqs.ts, injectable), against a hand-built JSON-protocol POST of the same request,
// signed with @smithy/signature-v4 (the SDK's own signer, installed with it). Variants take turns
// in rounds at 1 and 10 in flight; CPU is process.cpuUsage() over each run.
// Usage: tsx load/bench/sdk-isolation.ts SPEC.json OUT.json (environment: the stack's).
import { createHash, createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { SignatureV4 } from '@smithy/signature-v4';
import { newOrderId } from '../../lib/sale/order-id';
import type { AcceptedOrder } from '../../lib/sale/types';
import type { SdkRun } from './scenario';

export interface SdkSpec {
  queue_url: string;
  endpoint: string;
  region: string;
  sends: number;
  in_flight: number[];
  rounds: number;
}

type Send = (body: AcceptedOrder) => Promise<void>;

const bytes = (d: string | ArrayBuffer | ArrayBufferView) =>
  typeof d === 'string'
    ? d
    : ArrayBuffer.isView(d)
      ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
      : new Uint8Array(d);

export type HashClass = new (
  secret?: string | ArrayBuffer | ArrayBufferView,
) => { update(data: Uint8Array): void; digest(): Promise<Uint8Array>; reset(): void };

/** The Checksum the signer needs, over node:crypto (what @smithy/hash-node does). */
class Sha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {}
}

/**
 * A SendMessage as the JSON protocol has it, signed by the SDK's signer, on a keep-alive agent. Its
 * SHA-256 is node:crypto's used plainly (`sha256-ab.ts` also runs it with the product's KeyedSha256).
 */
export function handSigned(spec: SdkSpec, sha256: HashClass = Sha256): Send {
  const url = new URL(spec.endpoint);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const signer = new SignatureV4({
    service: 'sqs',
    region: spec.region,
    sha256,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return async (order) => {
    const body = JSON.stringify({ QueueUrl: spec.queue_url, MessageBody: JSON.stringify(order) });
    const signed = await signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      query: {},
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AmazonSQS.SendMessage',
        'content-length': String(Buffer.byteLength(body)),
      },
      body,
    });
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { agent, method: 'POST', hostname: url.hostname, port: url.port, path: '/', headers: signed.headers },
        (res) => {
          let text = '';
          res.on('data', (d) => {
            text += String(d);
          });
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`SendMessage ${res.statusCode}: ${text}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
}

/** The product's path: its queue adapter over the client its factory builds (or one injected). */
export async function sdkSend(spec: SdkSpec, client?: () => SQSClient): Promise<Send> {
  const { sqsClient, sqsOrderQueue } = await import('../../lib/queue/sqs');
  const q = sqsOrderQueue((client ?? sqsClient)(), spec.queue_url);
  return (order) => q.send(order);
}

/** An accepted order as createOrder sends it (every field; the bench's buyer id length). */
export function benchOrder(i: number, customer_id = 'bench-buyer-000'): AcceptedOrder {
  const now_ms = Date.now();
  return {
    order_id: newOrderId(1, now_ms),
    product_id: 1,
    customer_id,
    qty: 1,
    unit_price_cents: 100,
    currency: 'EUR',
    created_ms: now_ms,
    expires_ms: now_ms + 600_000,
    generation: 0,
    seq: i,
  };
}

export async function drive(
  send: Send,
  sends: number,
  in_flight: number,
): Promise<{ seconds: number; cpu_ms: number }> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: in_flight }, async () => {
      while (next < sends) await send(benchOrder(next++));
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { seconds: (performance.now() - t0) / 1000, cpu_ms: (cpu.user + cpu.system) / 1000 };
}

export async function isolate(spec: SdkSpec, client?: () => SQSClient): Promise<SdkRun[]> {
  const variants: [SdkRun['variant'], Send][] = [
    ['sdk', await sdkSend(spec, client)],
    ['hand-signed', handSigned(spec)],
  ];
  for (const [, send] of variants) await drive(send, Math.min(500, spec.sends), 10); // warm: JIT, sockets
  const runs: SdkRun[] = [];
  for (const c of spec.in_flight)
    for (const [variant] of variants)
      runs.push({ variant, in_flight: c, sends: 0, seconds: 0, per_s: 0, cpu_ms_per_send: 0 });
  const per_round = Math.ceil(spec.sends / spec.rounds);
  const cpu_ms = new Map<SdkRun, number>();
  for (let r = 0; r < spec.rounds; r++)
    // Each round starts one run later, so no run is always first (whatever its place in the round
    // does to its figure falls on every run alike over the rounds).
    for (let i = 0; i < runs.length; i++) {
      const run = runs[(r + i) % runs.length]!;
      const send = variants.find(([v]) => v === run.variant)![1];
      const d = await drive(send, per_round, run.in_flight);
      run.sends += per_round;
      run.seconds += d.seconds;
      cpu_ms.set(run, (cpu_ms.get(run) ?? 0) + d.cpu_ms);
    }
  for (const run of runs) {
    run.per_s = run.sends / run.seconds;
    run.cpu_ms_per_send = cpu_ms.get(run)! / run.sends;
  }
  return runs;
}

async function main(): Promise<void> {
  const [specFile, outFile] = process.argv.slice(2);
  if (!specFile || !outFile) throw new Error('usage: sdk-isolation.ts SPEC.json OUT.json');
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as SdkSpec;
  const runs = await isolate(spec);
  writeFileSync(outFile, JSON.stringify({ runs, body_bytes: JSON.stringify(benchOrder(1)).length }));
  process.exit(0); // keep-alive sockets would keep the process alive
}

if (process.argv[1]?.endsWith('sdk-isolation.ts')) {
  main().catch((err) => {
    process.stderr.write(`sdk-isolation failed: ${(err as Error).stack}\n`);
    process.exit(1);
  });
}
