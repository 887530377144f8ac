// The SQS client's SHA-256 (lib/queue/sha256.ts) against node:crypto, and a SendMessage signed with
// it against one signed by the SDK's own: the same Authorization header, byte for byte.
import { createHash, createHmac } from 'node:crypto';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hmacKey, KeyedSha256 } from '../../lib/queue/sha256';

const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');

async function digestOf(secret: ConstructorParameters<typeof KeyedSha256>[0], ...parts: string[]) {
  const h = new KeyedSha256(secret);
  for (const p of parts) h.update(Buffer.from(p));
  return hex(await h.digest());
}

describe('KeyedSha256', () => {
  it('computes what node:crypto computes: HMACs over every kind of key, and plain hashes', async () => {
    const bytes = Uint8Array.from([1, 2, 3, 250]);
    const cases: [ConstructorParameters<typeof KeyedSha256>[0], Buffer | string][] = [
      ['AWS4wJalrXUtnFEMI/K7MDENG', 'AWS4wJalrXUtnFEMI/K7MDENG'],
      ['ключ', 'ключ'],
      [bytes, Buffer.from(bytes)],
      [bytes.buffer, Buffer.from(bytes)],
      [new Uint8Array(0), Buffer.alloc(0)],
      [Buffer.from(bytes).subarray(1, 3), Buffer.from([2, 3])],
    ];
    for (const [secret, raw] of cases) {
      const want = createHmac('sha256', raw).update('20261203').update('eu-west-1').digest('hex');
      expect(await digestOf(secret, '20261203', 'eu-west-1')).toBe(want);
      expect(await digestOf(secret, '20261203', 'eu-west-1')).toBe(want); // from the cached key
    }
    expect(await digestOf(undefined, 'payload')).toBe(createHash('sha256').update('payload').digest('hex'));
    expect(await digestOf('', 'payload')).toBe(createHash('sha256').update('payload').digest('hex'));
  });

  it('makes one KeyObject per key, and a new one when an array it saw changes', () => {
    const secret = Uint8Array.from([9, 9, 9]);
    const first = hmacKey(secret);
    expect(hmacKey(secret)).toBe(first);
    expect(hmacKey('s3cret')).toBe(hmacKey('s3cret'));
    secret[0] = 8;
    const changed = hmacKey(secret);
    expect(changed).not.toBe(first);
    expect(changed.export()).toEqual(Buffer.from([8, 9, 9]));
  });

  it('refuses an update after an HMAC digest, resets to start again', async () => {
    const h = new KeyedSha256('k');
    h.update(Buffer.from('a'));
    const a = hex(await h.digest());
    expect(() => h.update(Buffer.from('b'))).toThrow(/already finished/);
    h.reset();
    h.update(Buffer.from('a'));
    expect(hex(await h.digest())).toBe(a);
  });
});

type Args = { request: unknown };
type Step = (next: (args: Args) => Promise<unknown>) => (args: Args) => Promise<unknown>;
const headersOf = (args: Args) => (args.request as { headers: Record<string, string> }).headers;

describe('a SendMessage signed with KeyedSha256', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** The Authorization header of each send, captured once signed; nothing leaves the process. */
  async function authorizations(sha256?: typeof KeyedSha256): Promise<string[]> {
    const client = new SQSClient({
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:9',
      credentials: {
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      },
      maxAttempts: 1,
      ...(sha256 ? { sha256 } : {}),
    });
    const seen: string[] = [];
    // The retry middleware signs a random invocation id into every request: fixed here for both.
    const fixInvocationId: Step = (next) => async (args) => {
      headersOf(args)['amz-sdk-invocation-id'] = 'fixed';
      return next(args);
    };
    const capture: Step = () => async (args) => {
      seen.push(String(headersOf(args)['authorization']));
      throw new Error('captured');
    };
    const stack = client.middlewareStack;
    stack.addRelativeTo(fixInvocationId as never, {
      relation: 'before',
      toMiddleware: 'httpSigningMiddleware',
      name: 'fixInvocationId',
    });
    stack.addRelativeTo(capture as never, {
      relation: 'after',
      toMiddleware: 'httpSigningMiddleware',
      name: 'capture',
    });
    for (const body of ['{"order_id":"a"}', '{"order_id":"b"}']) {
      const send = client.send(
        new SendMessageCommand({ QueueUrl: 'http://127.0.0.1:9/000000000000/orders', MessageBody: body }),
      );
      await expect(send).rejects.toThrow('captured');
    }
    client.destroy();
    return seen;
  }

  it('carries the same signature as one signed by the SDK default', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-03T10:30:00Z'));
    const ours = await authorizations(KeyedSha256);
    const sdk = await authorizations();
    expect(ours).toHaveLength(2);
    expect(ours[0]).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261203\/eu-west-1\/sqs\/aws4_request/,
    );
    expect(ours).toEqual(sdk);
    expect(ours[0]).not.toBe(ours[1]); // two bodies, two signatures
  });
});
