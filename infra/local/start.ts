// `npm start`: the local sale in the foreground. Ctrl-C (SIGINT) or SIGTERM stops everything it
// started, in reverse order.

import { mkdirSync } from 'node:fs';
import { resetConfig } from '../../lib/config';
import { mintToken } from '../../lib/http/auth';
import { childrenFile, reclaimDataDir } from './leftovers';
import { recordChildrenIn } from './procs';
import { queueKindFromEnv, startStack } from './stack';
import { stackServices, supervise } from './supervise';

const port = Number(process.env['PORT'] ?? 3000);
const dataDir = process.env['DATA_DIR'] ?? '.data';
const say = (msg: string) => console.log(`[flash-sale] ${msg}`);

async function main(): Promise<void> {
  say(`starting the local stack on port ${port}, data in ${dataDir}`);
  const redisCluster = process.env['LOCAL_REDIS_CLUSTER'] === '1';
  // `npm start -- --localstack` or LOCAL_SQS=localstack: LocalStack plays SQS (and runs
  // serverless.yml's queues, DLQ, topic and alarms through its CloudFormation) instead of fauxqs.
  const queue = process.argv.includes('--localstack') ? 'localstack' : queueKindFromEnv();
  mkdirSync(dataDir, { recursive: true });
  await reclaimDataDir(dataDir, say);
  recordChildrenIn(childrenFile(dataDir));
  const stack = await startStack({ port, dataDir, serve: true, seed: true, say, redisCluster, queue });
  // A service killed or crashed is started again, as AWS would replace it (infra/local/supervise.ts).
  const supervisor = supervise(stackServices(stack), say);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    supervisor.close();
    say(`${signal}: stopping everything this stack started`);
    await stack.stop();
    say('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => void stop('SIGHUP')); // the terminal closed

  Object.assign(process.env, stack.env);
  resetConfig();
  const buyer = await mintToken({ customer_id: 'demo-buyer' });
  const admin = await mintToken({ customer_id: 'demo-admin', admin: true });
  const url = stack.baseUrl.replace('127.0.0.1', 'localhost');
  console.log(`
Ready: ${url}   (readiness: ${url}/readyz)

Buyer token (customer demo-buyer, 24 h):
  ${buyer}
Admin token:
  ${admin}

Reserve 2 consoles:
  curl -i -X POST ${url}/api/orders \\
    -H "Authorization: Bearer ${buyer}" \\
    -H "Content-Type: application/json" -H "Idempotency-Key: demo-1" \\
    -d '{"product_id":1,"qty":2}'

Storefront (local only): ${stack.sandboxUrl}/shop/1
Rehearse a sale:          npm run cli -- simulate

Products:  curl ${url}/api/products
Audit:     curl -H "Authorization: Bearer ${admin}" ${url}/api/admin/products/1/audit
Logs:      ${stack.logDir}
Ctrl-C stops everything.
`);
}

main().catch((err) => {
  console.error(`[flash-sale] failed to start: ${(err as Error).message}`);
  process.exit(1);
});
