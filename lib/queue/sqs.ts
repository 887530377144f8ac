// The orders queue on SQS (or an SQS-compatible endpoint locally). One client per container, with
// keep-alive connections, so a send is one round trip on a warm socket.
import { SendMessageCommand, SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { config, required } from '../config';
import type { OrderQueue } from '../sale/ports';
import { KeyedSha256 } from './sha256';

let client: SQSClient | undefined;

export function sqsClient(): SQSClient {
  client ??= newSqsClient();
  return client;
}

/** The product's client configuration; `overrides` only for measurements (load/profile/). */
export function newSqsClient(overrides: SQSClientConfig = {}): SQSClient {
  const c = config();
  const sqs = new SQSClient({
    region: c.AWS_REGION,
    ...(c.SQS_ENDPOINT
      ? {
          // Parsed once: given as a string, the SDK parses the URL again on every send (~8 % of a
          // send's CPU here); AWS's own endpoint is resolved once and cached by the SDK.
          endpoint: endpointOf(c.SQS_ENDPOINT),
          // A local endpoint's queue URLs name hosts (sqs.<region>.localhost) that need not resolve.
          useQueueUrlAsEndpoint: false,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }
      : {}),
    maxAttempts: 2,
    // The middleware stack is resolved once per command type instead of on every send (the SDK's
    // own option; ~15 % of a send's CPU here, load/README.md). The stack is final before the first
    // send: withoutBookkeeping below edits it at construction.
    cacheMiddleware: true,
    // No client-side MD5 of every message body (pure-JS MD5 in the SDK): TLS already protects it in
    // transit and persistOrders validates every message. Measured (load/README.md): ~0.05 ms less
    // CPU per SendMessage, about a tenth of what the send costs.
    md5: false,
    // SigV4's two HMACs per request over KeyObjects made once (lib/queue/sha256.ts).
    sha256: KeyedSha256,
    // Options, not a handler instance: nothing of @smithy imported here. Agent options, not Agents:
    // an ES module importing `node:http` makes Node build its namespace, which loads undici (~25 ms
    // of every cold start, README "Cold starts"); the SDK creates the keep-alive agents itself.
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets: 64 },
      httpsAgent: { keepAlive: true, maxSockets: 64 },
      connectionTimeout: 1000,
      // A send that has no answer after 2 s fails (the order stays in the outbox, re-sent later).
      // Without `throwOnRequestTimeout` this SDK only logs a warning. Not `socketTimeout`: an idle
      // timer on the socket is re-armed on every read and write, measured ~25 % more CPU per send.
      requestTimeout: 2000,
      throwOnRequestTimeout: true,
    },
    ...overrides,
  });
  withoutBookkeeping(sqs);
  return sqs;
}

/** An endpoint URL as the SDK's parsed form (protocol, hostname, port, path). */
function endpointOf(url: string): { protocol: string; hostname: string; port?: number; path: string } {
  const u = new URL(url);
  return {
    protocol: u.protocol,
    hostname: u.hostname,
    ...(u.port ? { port: Number(u.port) } : {}),
    path: u.pathname,
  };
}

/**
 * Per send, the SDK rebuilds a user-agent header (AWS's SDK usage statistics) and runs a logger
 * middleware whose logger is a no-op: neither is the product's work, and together they are ~10 %
 * of a send's CPU here (README, "Cheaper orders"). Retries, signing, endpoint and serde stay.
 */
function withoutBookkeeping(c: SQSClient): void {
  c.middlewareStack.remove('getUserAgentMiddleware');
  c.middlewareStack.remove('loggerMiddleware');
}

export function sqsOrderQueue(
  sqs: SQSClient = sqsClient(),
  queue_url = required('ORDERS_QUEUE_URL'),
): OrderQueue {
  return {
    async send(order) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queue_url, MessageBody: asciiJson(order) }));
    },
  };
}

const NON_ASCII = /[\u0080-\uffff]/g;

/**
 * JSON with every character past ASCII written as a \uXXXX escape (one per UTF-16 unit, so a
 * character past U+FFFF becomes its surrogate pair): the same value once parsed. Customer ids are
 * any printable characters, emoji included; SQS takes U+10000 and above, but emulators refuse them
 * (fauxqs: InvalidMessageContents), and a send refused every time is an accepted order that never
 * reaches PostgreSQL. An ASCII message (almost all) costs one scan and comes back as it is.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    NON_ASCII,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
