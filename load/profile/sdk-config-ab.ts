// The SQS client's per-send configuration (lib/queue/sqs.ts) against the same client without it,
// side by side in one process: the product's client as configured (middleware stack resolved once
// per command type, `cacheMiddleware`; the local endpoint given parsed), the same client with the
// stack resolved on every send and the endpoint as a URL string (how it was before), the SDK's
// default client, and the bench's hand-signed request, in rotating rounds at 1 and 10 in flight
// against the profile stack's fauxqs. load/README.md, "The middleware stack resolved once".
//   npx tsx load/profile/stack.ts &   then   npx tsx load/profile/sdk-config-ab.ts [--sends 12000] [--rounds 24]
import { newSqsClient } from '../../lib/queue/sqs';
import { drive, handSigned, sdkSend } from '../bench/sdk-isolation';
import { median, sdkAbSpec } from './common';

const spec = sdkAbSpec();
const PRODUCT = 'product client';
const BEFORE = 'stack per send, endpoint string';
const HAND = 'hand-signed';
const variants = {
  [PRODUCT]: await sdkSend(spec, () => newSqsClient()),
  [BEFORE]: await sdkSend(spec, () => newSqsClient({ cacheMiddleware: false, endpoint: spec.endpoint })),
  [HAND]: handSigned(spec),
};
for (const send of Object.values(variants)) await drive(send, 500, 10); // warm: JIT, sockets
const per_round = Math.ceil(spec.sends / spec.rounds);
for (const in_flight of spec.in_flight) {
  const cpu_ms = Object.fromEntries(Object.keys(variants).map((k) => [k, [] as number[]]));
  const order = Object.entries(variants);
  for (let r = 0; r < spec.rounds; r++)
    // Each round starts with the next variant, so no variant is always first.
    for (let i = 0; i < order.length; i++) {
      const [name, send] = order[(r + i) % order.length]!;
      cpu_ms[name]!.push((await drive(send, per_round, in_flight)).cpu_ms / per_round);
    }
  const hand = median(cpu_ms[HAND]!);
  console.log(
    `${in_flight} in flight, CPU ms per send (median of ${spec.rounds} rounds of ${per_round}), × hand-signed:`,
  );
  for (const [name, xs] of Object.entries(cpu_ms))
    console.log(`  ${name.padEnd(32)} ${median(xs).toFixed(3)}  ${(median(xs) / hand).toFixed(2)}×`);
}
process.exit(0); // keep-alive sockets would keep the process alive
