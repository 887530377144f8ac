// SDK isolation (load/bench/sdk-isolation.ts, a process of its own): CPU per SendMessage of the
// product's SQS client against a hand-built, SDK-signed JSON-protocol POST of the same request.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { ROOT } from '../../../infra/local/stack';
import { child } from '../http';
import type { Scenario, SdkRun } from '../scenario';
import type { SdkSpec } from '../sdk-isolation';

const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');

export const sdk: Scenario = {
  name: 'sdk',
  measures:
    "CPU per SendMessage: the product's SDK client (lib/queue/sqs.ts) vs a hand-signed SigV4 JSON POST, 1 and 10 in flight",
  async run(ctx, out) {
    const { stack, P } = ctx;
    const q = await ctx.sqs.send(new CreateQueueCommand({ QueueName: `bench-sdk-${Date.now()}` }));
    const spec: SdkSpec = {
      queue_url: q.QueueUrl!,
      endpoint: stack.env['SQS_ENDPOINT']!,
      region: stack.env['AWS_REGION'] ?? 'us-east-1',
      sends: P.sdk_sends,
      in_flight: [1, 10],
      rounds: 4,
    };
    const specFile = join(ctx.dataDir, 'sdk-spec.json');
    const outFile = join(ctx.dataDir, 'sdk-out.json');
    writeFileSync(specFile, JSON.stringify(spec));
    ctx.say(`sdk isolation: ${spec.sends} sends per variant and in-flight level, in a process of its own`);
    await child([TSX, join(ROOT, 'load/bench/sdk-isolation.ts'), specFile, outFile], {
      env: { ...process.env, ...stack.env, LOG_LEVEL: P.log_level },
      logFile: join(stack.logDir, 'sdk-isolation.log'),
    });
    const r = JSON.parse(readFileSync(outFile, 'utf8')) as { runs: SdkRun[]; body_bytes: number };
    for (const x of r.runs)
      ctx.say(
        `  ${x.variant.padEnd(12)} @${String(x.in_flight).padEnd(3)} ${Math.round(x.per_s)}/s, CPU ${x.cpu_ms_per_send.toFixed(3)} ms/send`,
      );
    out.sdk = { ...r, client: 'lib/queue/sqs.ts sqsClient() via sqsOrderQueue().send' };
  },
};
