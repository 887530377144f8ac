// SendMessage in isolation against fauxqs (loopback, keep-alive): CPU per send of the SDK client as
// lib/queue/sqs.ts configures it, of a plain SDK client, and of a hand-signed SigV4 JSON-protocol
// POST (@smithy/signature-v4 + node:http, the protocol's floor), at 1 and 10 in flight, the
// variants taking turns.   npx tsx load/profile/sqs-send.ts [sends per round, default 2000]
import { Agent, request } from 'node:http';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { readStack } from './common';

const stack = readStack();
const endpoint = new URL(stack.env['SQS_ENDPOINT']!);
const creds = { accessKeyId: 'local', secretAccessKey: 'local' };
const plain = new SQSClient({
  region: 'us-east-1',
  endpoint: endpoint.href,
  useQueueUrlAsEndpoint: false,
  credentials: creds,
});
const queueUrl = (await plain.send(new CreateQueueCommand({ QueueName: `prof-iso-${Date.now()}` })))
  .QueueUrl!;
const { sqsClient } = await import('../../lib/queue/sqs');
const product = sqsClient();
const body = JSON.stringify({
  order_id: '01JABCDEFGHJKMNPQRSTVWXYZ0',
  product_id: 1,
  customer_id: 'c-1',
  qty: 1,
  unit_price_cents: 100,
  currency: 'EUR',
  created_ms: Date.now(),
  expires_ms: Date.now() + 600_000,
});

const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 'sqs', sha256: Sha256 }); // the SDK's own SHA-256 (node:crypto)
async function handSigned(): Promise<void> {
  const payload = JSON.stringify({ QueueUrl: queueUrl, MessageBody: body });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: endpoint.hostname,
    port: Number(endpoint.port),
    path: '/',
    headers: {
      host: endpoint.host,
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'AmazonSQS.SendMessage',
      'content-length': String(Buffer.byteLength(payload)),
    },
    body: payload,
  });
  await new Promise<void>((resolve, reject) => {
    const r = request(
      {
        host: endpoint.hostname,
        port: endpoint.port,
        method: 'POST',
        path: '/',
        headers: signed.headers,
        agent,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () =>
          res.statusCode === 200 && JSON.parse(text).MessageId ? resolve() : reject(new Error(text)),
        );
      },
    );
    r.on('error', reject);
    r.end(payload);
  });
}
const variants: Record<string, () => Promise<unknown>> = {
  'SDK, lib/queue/sqs.ts': () =>
    product.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body })),
  'SDK, defaults': () => plain.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body })),
  'hand-signed SigV4': handSigned,
};

async function round(fn: () => Promise<unknown>, n: number, in_flight: number): Promise<number> {
  let i = 0;
  const c0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: in_flight }, async () => {
      while (i++ < n) await fn();
    }),
  );
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1000;
}

const n = Number(process.argv[2] ?? 2000);
for (const in_flight of [1, 10]) {
  const cpu: Record<string, number> = {};
  for (const fn of Object.values(variants)) await round(fn, 200, in_flight);
  for (let r = 0; r < 3; r++)
    for (const [k, fn] of Object.entries(variants)) cpu[k] = (cpu[k] ?? 0) + (await round(fn, n, in_flight));
  const floor = cpu['hand-signed SigV4']!;
  for (const [k, v] of Object.entries(cpu))
    console.log(
      `${String(in_flight).padStart(2)} in flight  ${k.padEnd(24)} ${(v / (3 * n)).toFixed(3)} ms CPU/send  ${(v / floor).toFixed(2)}x hand-signed`,
    );
}
process.exit(0);
