// The SQS client's SHA-256 (lib/queue/sha256.ts: HMAC keys as KeyObjects) against the SDK's
// default, side by side in one process: the product's client as configured, the same client with
// the SDK's own Sha256, and the bench's hand-signed request with either, in rotating rounds at 1 and
// 10 in flight against the profile stack's fauxqs. load/README.md, "SigV4 keys as KeyObjects".
//   npx tsx load/profile/stack.ts &   then   npx tsx load/profile/sha256-ab.ts [--sends 12000] [--rounds 24]
// Last, the two HMACs of one request alone, back to back, with each class.
import { SQSClient } from '@aws-sdk/client-sqs';
import { KeyedSha256 } from '../../lib/queue/sha256';
import { newSqsClient } from '../../lib/queue/sqs';
import { drive, type HashClass, handSigned, sdkSend } from '../bench/sdk-isolation';
import { median, sdkAbSpec } from './common';

const spec = sdkAbSpec();
// The SDK's default: what a client without a `sha256` option signs with.
const sdkSha256 = (new SQSClient({ region: spec.region }).config as unknown as { sha256: HashClass }).sha256;
const variants = {
  'product client (KeyedSha256)': await sdkSend(spec, () => newSqsClient()),
  "same client, the SDK's Sha256": await sdkSend(spec, () => newSqsClient({ sha256: sdkSha256 })),
  'hand-signed (plain node:crypto)': handSigned(spec),
  'hand-signed (KeyedSha256)': handSigned(spec, KeyedSha256),
};
for (const send of Object.values(variants)) await drive(send, 500, 10); // warm: JIT, sockets
const per_round = Math.ceil(spec.sends / spec.rounds);
for (const in_flight of spec.in_flight) {
  const cpu_ms = Object.fromEntries(Object.keys(variants).map((k) => [k, [] as number[]]));
  const order = Object.entries(variants);
  for (let r = 0; r < spec.rounds; r++) {
    // Each round starts with the next variant, so no variant is always first (with a fixed order,
    // the saving read from 5 runs ranged −21 to 90 µs: order or noise, load/README.md).
    for (let i = 0; i < order.length; i++) {
      const [name, send] = order[(r + i) % order.length]!;
      cpu_ms[name]!.push((await drive(send, per_round, in_flight)).cpu_ms / per_round);
    }
  }
  console.log(`${in_flight} in flight, CPU ms per send (median of ${spec.rounds} rounds of ${per_round}):`);
  for (const [name, xs] of Object.entries(cpu_ms))
    console.log(`  ${name.padEnd(32)} ${median(xs).toFixed(3)}`);
  const sdks = median(cpu_ms["same client, the SDK's Sha256"]!);
  const keyed = median(cpu_ms['product client (KeyedSha256)']!);
  const saved_us = (sdks - keyed) * 1000;
  console.log(
    `  KeyedSha256 saves ${saved_us.toFixed(0)} µs per send (${(100 * (1 - keyed / sdks)).toFixed(1)} %)`,
  );
}

const signingKey = new Uint8Array(32).fill(7);
async function twoHmacs(C: HashClass): Promise<void> {
  const lookup = new C('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY');
  lookup.update(Buffer.from('AKIDEXAMPLE'));
  await lookup.digest();
  const signature = new C(signingKey);
  signature.update(Buffer.from('AWS4-HMAC-SHA256\n20261203T103000Z\n20261203/us-east-1/sqs/aws4_request\n'));
  await signature.digest();
}
console.log('the two HMACs of one request, back to back (µs of CPU, 3 × 20,000):');
for (let r = 0; r < 3; r++)
  for (const [name, C] of [
    ["SDK's Sha256", sdkSha256],
    ['KeyedSha256', KeyedSha256],
  ] as const) {
    for (let i = 0; i < 2000; i++) await twoHmacs(C);
    const c0 = process.cpuUsage();
    for (let i = 0; i < 20_000; i++) await twoHmacs(C);
    const c = process.cpuUsage(c0);
    console.log(`  ${name.padEnd(14)} ${((c.user + c.system) / 20_000).toFixed(1)}`);
  }
process.exit(0); // keep-alive sockets would keep the process alive
