// Starts the local services only (Redis, PostgreSQL, fauxqs; no serverless-offline) under a temp
// DATA_DIR, creates one on-sale product, writes env + product + tokens to $1 (JSON) and stays up
// until SIGINT/SIGTERM. The profiling scripts beside it read that file.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { localSqsClient } from '../../infra/local/services';
import { startStack } from '../../infra/local/stack';

const out = process.argv[2] ?? '/tmp/i14-cold-stack.json';
const dataDir = mkdtempSync(join(tmpdir(), 'i14-cold-'));
chmodSync(dataDir, 0o755);
const stack = await startStack({
  port: 4600,
  dataDir,
  serve: false,
  seed: false,
  env: { REDIS_KEY_PREFIX: 'prof', LOG_LEVEL: 'INFO', RATE_LIMIT_CUSTOMER_RPS: '0', RATE_LIMIT_IP_RPS: '0' },
  say: (m) => console.error(`[stack] ${m}`),
});
const env = { ...stack.env };
for (const [k, v] of Object.entries(env)) process.env[k] = v;
// startStack read the configuration before these were set.
(await import('../../lib/config')).resetConfig();
const sqs = localSqsClient(env['SQS_ENDPOINT']!);
const sendOnly = await sqs.send(new CreateQueueCommand({ QueueName: 'prof-send-only' }));
const { mintToken } = await import('../../lib/http/auth');
const { products, inventory } = await import('../../lib/container');
const tokens = await Promise.all(
  Array.from({ length: 200 }, (_, i) => mintToken({ customer_id: `prof-${i}` })),
);
const admin = await mintToken({ customer_id: 'prof-admin', admin: true });
writeFileSync(
  out,
  JSON.stringify({ env, sendOnlyQueueUrl: sendOnly.QueueUrl, tokens, admin, dataDir }, null, 2),
);
console.error(`[stack] ready: ${out}`);
void products;
void inventory;
const stop = async () => {
  await stack.stop();
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => {}, 1 << 30);
