// Shared by the profiling scripts: the running stack (load/profile/stack.ts), events, a product.
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { httpEvent, lambdaContext } from '../../infra/local/lambda-event';
import type { SdkSpec } from '../bench/sdk-isolation';

export interface StackFile {
  env: Record<string, string>;
  sendOnlyQueueUrl: string;
  tokens: string[];
  admin: string;
}

export function readStack(path = process.env['PROFILE_STACK'] ?? '/tmp/i14-cold-stack.json'): StackFile {
  const s = JSON.parse(readFileSync(path, 'utf8')) as StackFile;
  for (const [k, v] of Object.entries(s.env)) process.env[k] = v;
  return s;
}

export function orderEvent(token: string, product_id: number, qty = 1): APIGatewayProxyEventV2 {
  return httpEvent('POST', '/api/orders', {
    headers: { authorization: `Bearer ${token}` },
    body: { product_id, qty },
  });
}

/** A product on sale with stock for any run, created through the admin handler (source, in-process). */
export async function newProduct(s: StackFile): Promise<number> {
  const { handler } = await import('../../functions/admin/createProduct');
  const r = await handler(
    httpEvent('POST', '/api/admin/products', {
      headers: { authorization: `Bearer ${s.admin}` },
      body: {
        sku: `prof-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
        name: 'profile',
        price_cents: 100,
        currency: 'EUR',
        stock_total: 100_000_000,
        max_per_order: 10,
      },
    }),
    lambdaContext('createProduct'),
  );
  if (r.statusCode !== 201) throw new Error(`product: ${r.statusCode} ${r.body}`);
  return (JSON.parse(r.body!) as { id: number }).id;
}

export { lambdaContext };

/** The middle value (the upper one of an even count): the profiling scripts' summary of rounds. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A CPU profile of what runs until stopProfile (node:inspector, 100 µs sampling). */
export async function startProfile(): Promise<Session> {
  const s = new Session();
  s.connect();
  await s.post('Profiler.enable');
  await s.post('Profiler.setSamplingInterval', { interval: 100 });
  await s.post('Profiler.start');
  return s;
}

export async function stopProfile(s: Session, file: string): Promise<void> {
  const { profile } = await s.post('Profiler.stop');
  writeFileSync(file, JSON.stringify(profile));
  s.disconnect();
}

/**
 * The SendMessage A/B scripts' run (sha256-ab.ts, sdk-config-ab.ts): the profile stack's send-only
 * queue at 1 and 10 in flight, `--sends` in `--rounds` rotating rounds.
 */
export function sdkAbSpec(): SdkSpec {
  const { values } = parseArgs({
    options: { sends: { type: 'string', default: '12000' }, rounds: { type: 'string', default: '24' } },
  });
  const stack = readStack();
  return {
    queue_url: stack.sendOnlyQueueUrl,
    endpoint: stack.env['SQS_ENDPOINT']!,
    region: stack.env['AWS_REGION'] ?? 'us-east-1',
    sends: Number(values.sends),
    in_flight: [1, 10],
    rounds: Number(values.rounds),
  };
}
