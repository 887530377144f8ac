// The whole local stack in one call: Redis, PostgreSQL, the SQS endpoint and its queues,
// migrations, the demo sale, serverless-offline (HTTP API + schedule) and the SQS trigger.
// Used by `npm start` and by the test suite's global setup, so both exercise the same path.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { Cluster, Redis } from 'ioredis';
import postgres from 'postgres';
import { redisInventory } from '../../lib/inventory/inventory';
import { registerScripts } from '../../lib/inventory/scripts';
import { migrate } from '../../lib/orders/migrate';
import { pgProducts } from '../../lib/orders/products';
import queues from '../queues.json' with { type: 'json' };
import { LOCALSTACK_SERVICES, startLocalstack } from './localstack';
import { referencedSecretsEnv } from './localstack-secrets';
import { CFN_STACK_NAME, deployToLocalstack, localstackTemplate, packagedTemplate } from './localstack-stack';
import { GaveUp, type Proc, portFree, portNear, startProc, waitFor } from './procs';
import { seedDemo } from './seed';
import { type PostgresService, startPostgres } from './services/postgres';
import {
  createOrderQueues,
  localSqsClient,
  type QueuePair,
  type QueueService,
  startFauxqs,
} from './services/queue';
import { type RedisClusterService, type RedisService, startRedis, startRedisCluster } from './services/redis';
import { offlineInvoker, startSqsTrigger, type Trigger } from './sqs-trigger';
import { ensureTools, type Tools } from './tools';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SERVICE = 'flash-sale';
const STAGE = 'dev';

export interface StackOpts {
  port: number;
  dataDir: string;
  /** run serverless-offline and the SQS trigger (false: services only) */
  serve: boolean;
  seed: boolean;
  /** the environment to read DATABASE_URL, REDIS_URL, SQS_ENDPOINT, ... from */
  env?: NodeJS.ProcessEnv;
  say?: (msg: string) => void;
  redisAppendfsync?: 'always' | 'everysec';
  /** a local three-master Redis Cluster instead of one Redis (REDIS_CLUSTER_NODES) */
  redisCluster?: boolean;
  /** queue settings other than serverless.yml's (fault tests shorten the visibility timeout) */
  queueOverrides?: { visibility_timeout_s?: number; max_receive_count?: number };
  /**
   * the local trigger's batching window instead of serverless.yml's (the test stack: 0, so a test
   * waiting for its order in PostgreSQL does not wait out a window its one order never fills)
   */
  maximum_batching_window_s?: number;
  /** the local trigger delivers every batch twice, concurrently (SQS's at-least-once, forced) */
  duplicateDelivery?: boolean;
  /** who plays SQS when SQS_ENDPOINT is not given; default: LOCAL_SQS, else fauxqs */
  queue?: QueueKind;
}

export type QueueKind = 'fauxqs' | 'localstack';

/** `LOCAL_SQS=localstack` (or `npm start -- --localstack`) runs LocalStack instead of fauxqs. */
export function queueKindFromEnv(env: NodeJS.ProcessEnv = process.env): QueueKind {
  const v = env['LOCAL_SQS'] ?? 'fauxqs';
  if (v !== 'fauxqs' && v !== 'localstack')
    throw new Error(`LOCAL_SQS must be fauxqs or localstack, not ${v}`);
  return v;
}

export interface Stack {
  /** everything a function needs, as environment variables (plain secrets: tests and the CLI use them) */
  env: Record<string, string>;
  /** what serverless-offline's functions get: `env`, except under LocalStack (secrets by reference) */
  functionEnv: Record<string, string>;
  baseUrl: string;
  lambdaPort: number;
  redis: RedisService | null;
  redisCluster: RedisClusterService | null;
  postgres: PostgresService | null;
  queue: QueueService | null;
  offline: Proc | null;
  trigger: Trigger | null;
  /** local only: the storefront (/shop/{id}), its token endpoint and the test payment provider */
  sandbox: Proc | null;
  sandboxUrl: string;
  logDir: string;
  dataDir: string;
  tools: Tools | null;
  opts: StackOpts;
  startOffline(): Promise<void>;
  stopOffline(): Promise<void>;
  stop(): Promise<void>;
}

/** Passed from the caller's environment to the functions when set (serverless.yml lists them too). */
const OPTIONAL_SETTINGS = [
  'AUTH_JWT_ISSUER',
  'AUTH_JWT_AUDIENCE',
  'AUTH_JWKS_URL',
  'AUTH_ADMIN_CLAIM',
  'AUTH_ADMIN_VALUE',
  'WEBHOOK_FAILED_PER_MIN',
  'WEBHOOK_UNVERIFIED_SAMPLE_MAX',
  'REDIS_COMMAND_TIMEOUT_MS',
  'REDIS_RESEND_WINDOW_S',
] as const;

export async function startStack(opts: StackOpts): Promise<Stack> {
  const say = opts.say ?? ((m: string) => console.log(m));
  const given = opts.env ?? process.env;
  // The API's port is the one the user asked for: taken, nothing else would tell (the health check
  // would reach whoever holds it, another stack included, and this one's stop would delete that
  // stack's build folder, .esbuild/offline-PORT).
  if (opts.serve && !(await portFree(opts.port))) {
    throw new Error(
      `port ${opts.port} is already in use on 127.0.0.1 (another stack, or another program): stop it, or choose another PORT`,
    );
  }
  const dataDir = resolve(opts.dataDir);
  const logDir = join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const secrets = loadSecrets(dataDir, given);
  const needLocal = !given['REDIS_URL'] && !given['REDIS_CLUSTER_NODES'] ? true : !given['DATABASE_URL'];
  const tools = needLocal ? ensureTools(say) : null;

  const stack: Stack = {
    env: {},
    functionEnv: {},
    baseUrl: `http://127.0.0.1:${opts.port}`,
    lambdaPort: 0,
    redis: null,
    redisCluster: null,
    postgres: null,
    queue: null,
    offline: null,
    trigger: null,
    sandbox: null,
    sandboxUrl: '',
    logDir,
    dataDir,
    tools,
    opts,
    startOffline: () => startOffline(stack, opts, say),
    stopOffline: () => stopOffline(stack),
    stop: () => stopAll(stack),
  };
  try {
    if (!given['REDIS_URL'] && !given['REDIS_CLUSTER_NODES'] && opts.redisCluster) {
      const ports = await clusterPorts(opts.port + 20);
      stack.redisCluster = await startRedisCluster(tools!.redisServer, { dataDir, logDir, ports });
      say(`redis        cluster of three masters ${stack.redisCluster.nodes} (AOF always, noeviction)`);
    } else if (!given['REDIS_URL'] && !given['REDIS_CLUSTER_NODES']) {
      const port = await portNear(opts.port + 10);
      stack.redis = await startRedis(tools!.redisServer, {
        dataDir,
        logDir,
        port,
        appendfsync: opts.redisAppendfsync ?? 'always',
      });
      say(
        `redis        ${stack.redis.url} (AOF appendfsync ${opts.redisAppendfsync ?? 'always'}, noeviction)`,
      );
    }
    if (!given['DATABASE_URL']) {
      stack.postgres = await startPostgres(tools!.pgBin, {
        dataDir,
        logDir,
        port: await portNear(opts.port + 11),
      });
      say(`postgresql   ${stack.postgres.url} (data in ${stack.postgres.dataDir})`);
    }
    // A LocalStack (or any SQS endpoint) of the user's own: SQS_ENDPOINT, or the SDKs' AWS_ENDPOINT_URL.
    let endpoint = given['SQS_ENDPOINT'] || given['AWS_ENDPOINT_URL'];
    if (!endpoint) {
      stack.queue = await startQueue(opts.queue ?? queueKindFromEnv(), {
        dataDir,
        logDir,
        port: await portNear(opts.port + 12),
        say,
      });
      endpoint = stack.queue.endpoint;
    }
    let queueUrl = given['ORDERS_QUEUE_URL'];
    let dlqUrl = given['ORDERS_DLQ_URL'] ?? '';
    if (!queueUrl) ({ queueUrl, dlqUrl } = await provisionQueues(stack.queue, endpoint, opts, say));

    stack.env = {
      // serverless.yml: plain variables (infra/local/environment.yml), not AWS secret references.
      FLASH_SALE_TARGET: 'local',
      REDIS_URL: given['REDIS_URL'] ?? stack.redis?.url ?? '',
      REDIS_CLUSTER_NODES: given['REDIS_CLUSTER_NODES'] ?? stack.redisCluster?.nodes ?? '',
      REDIS_KEY_PREFIX: given['REDIS_KEY_PREFIX'] ?? 'fs',
      DATABASE_URL: given['DATABASE_URL'] ?? stack.postgres!.url,
      SQS_ENDPOINT: endpoint,
      ORDERS_QUEUE_URL: queueUrl,
      ORDERS_DLQ_URL: dlqUrl,
      AUTH_JWT_SECRET: secrets.AUTH_JWT_SECRET,
      WEBHOOK_SECRET: secrets.WEBHOOK_SECRET,
      PORT: String(opts.port),
      DATA_DIR: dataDir,
      LOG_LEVEL: given['LOG_LEVEL'] ?? 'INFO',
      RATE_LIMIT_CUSTOMER_RPS: given['RATE_LIMIT_CUSTOMER_RPS'] ?? '20',
      RATE_LIMIT_IP_RPS: given['RATE_LIMIT_IP_RPS'] ?? '0',
      // Optional settings reach the functions only when given; their defaults live in lib/config.ts.
      ...Object.fromEntries(OPTIONAL_SETTINGS.flatMap((k) => (given[k] ? [[k, given[k]]] : []))),
    };
    // The CLI reads this to reach the stack without the caller exporting anything.
    writeFileSync(join(dataDir, 'stack-env.json'), JSON.stringify(stack.env, null, 2), { mode: 0o600 });
    stack.functionEnv =
      stack.queue?.kind === 'localstack' ? await referencedSecretsEnv(stack.env, endpoint) : stack.env;
    await prepareData(stack.env, opts.seed, say);
    if (opts.serve) {
      await stack.startOffline();
      await startSandbox(stack, opts, say);
    }
    return stack;
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

/** fauxqs (npm, the zero-dependency default) or LocalStack (Python venv) on a loopback port. */
export async function startQueue(
  kind: QueueKind,
  o: { dataDir: string; logDir: string; port: number; say: (m: string) => void },
): Promise<QueueService> {
  if (kind === 'localstack') {
    const t0 = Date.now();
    const ls = await startLocalstack(o);
    o.say(
      `sqs          ${ls.endpoint} (LocalStack 4.14.0, up in ${Date.now() - t0} ms; ${LOCALSTACK_SERVICES.join(', ')})`,
    );
    return { kind, ...ls };
  }
  const appJs = join(ROOT, 'node_modules/fauxqs/dist/app.js');
  const q = await startFauxqs(process.execPath, { ...o, appJs });
  o.say(`sqs          ${q.endpoint} (fauxqs emulator)`);
  return q;
}

/**
 * The orders queue and its DLQ. In a LocalStack this stack started: serverless.yml's own resources,
 * deployed through LocalStack's CloudFormation (queues, redrive, alarm topic, queue alarms). Elsewhere,
 * and when a test shortens the queue's timeouts: created directly from infra/queues.json.
 */
export async function provisionQueues(
  queue: QueueService | null,
  endpoint: string,
  opts: StackOpts,
  say: (m: string) => void,
): Promise<QueuePair> {
  if (queue?.kind !== 'localstack' || opts.queueOverrides) {
    return createOrderQueues(localSqsClient(endpoint), undefined, opts.queueOverrides);
  }
  const template = localstackTemplate(packagedTemplate(say));
  const deployed = await deployToLocalstack(endpoint, template);
  say(`cloudformation stack ${CFN_STACK_NAME}: ${Object.keys(template.Resources).join(', ')}`);
  return { queueUrl: deployed['OrdersQueue']!, dlqUrl: deployed['OrdersDLQ']! };
}

function loadSecrets(dataDir: string, given: NodeJS.ProcessEnv) {
  const file = join(dataDir, 'secrets.json');
  let stored: Record<string, string> = {};
  if (existsSync(file)) stored = JSON.parse(readFileSync(file, 'utf8'));
  else {
    stored = {
      AUTH_JWT_SECRET: randomBytes(32).toString('base64url'),
      WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
    };
    writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  }
  return {
    AUTH_JWT_SECRET: given['AUTH_JWT_SECRET'] || stored['AUTH_JWT_SECRET']!,
    WEBHOOK_SECRET: given['WEBHOOK_SECRET'] || stored['WEBHOOK_SECRET']!,
  };
}

async function prepareData(
  env: Record<string, string>,
  seed: boolean,
  say: (m: string) => void,
): Promise<void> {
  const sql = postgres(env['DATABASE_URL']!, { max: 2, onnotice: () => {} });
  const redis = registerScripts(redisFromEnv(env));
  try {
    const applied = await migrate(sql);
    if (applied.length) say(`migrations   applied ${applied.join(', ')}`);
    if (seed)
      await seedDemo(
        { inventory: redisInventory(redis, env['REDIS_KEY_PREFIX']!), products: pgProducts(sql) },
        say,
      );
  } finally {
    await sql.end({ timeout: 2 });
    redis.disconnect();
  }
}

/**
 * Three ports for cluster nodes whose cluster-bus ports (port + 10000, Redis's rule) are free too and
 * stay below 65536: the derived ones when they qualify, else a free run between 20000 and 30000.
 */
export async function clusterPorts(preferred: number): Promise<number[]> {
  const ok = async (p: number) => {
    if (p + 2 + 10_000 > 65_535) return false;
    const all = await Promise.all([0, 1, 2].flatMap((d) => [portFree(p + d), portFree(p + d + 10_000)]));
    return all.every(Boolean);
  };
  if (await ok(preferred)) return [preferred, preferred + 1, preferred + 2];
  for (let i = 0; i < 200; i++) {
    const p = 20_000 + Math.floor(Math.random() * 10_000);
    if (await ok(p)) return [p, p + 1, p + 2];
  }
  throw new Error('no free ports for a local Redis Cluster');
}

/** A client for the stack's Redis, standalone or cluster, for set-up work outside the functions. */
export function redisFromEnv(env: Record<string, string>): Redis | Cluster {
  if (env['REDIS_CLUSTER_NODES']) {
    return new Cluster(
      env['REDIS_CLUSTER_NODES']
        .split(',')
        .map((hp) => ({ host: hp.split(':')[0]!, port: Number(hp.split(':')[1]) })),
    );
  }
  return new Redis(env['REDIS_URL']!);
}

async function startOffline(stack: Stack, opts: StackOpts, say: (m: string) => void): Promise<void> {
  if (stack.offline) return;
  const lambdaPort = await portNear(opts.port + 2);
  const sls = join(ROOT, 'node_modules/osls/bin/serverless.js');
  const args = [
    sls, 'offline', 'start',
    '--httpPort', String(opts.port),
    '--lambdaPort', String(lambdaPort),
    '--websocketPort', String(await portNear(opts.port + 1)),
    '--albPort', String(await portNear(opts.port + 3)),
    '--host', '127.0.0.1',
    '--stage', STAGE,
  ]; // biome-ignore format: flag/value pairs
  stack.offline = startProc(`offline-${opts.port}`, process.execPath, args, {
    logDir: stack.logDir,
    cwd: ROOT,
    env: {
      ...offlineEnv(stack),
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      // Bundles of this stack's own (serverless.yml's custom.esbuild.outputWorkFolder): stacks side
      // by side (`npm test` runs the cluster suite beside the fault suite) and `sls invoke local`
      // never rewrite a bundle another serverless-offline is loading.
      SLS_ESBUILD_WORK_FOLDER: esbuildFolder(opts),
    },
  });
  stack.lambdaPort = lambdaPort;
  const offline = stack.offline;
  reportCrash(offline, join(stack.logDir, `offline-${opts.port}.log`), say);
  await waitFor(
    'serverless offline',
    async () => {
      if (offline.child.exitCode !== null) throw new Error('serverless offline exited; see its log');
      return (await fetch(`${stack.baseUrl}/healthz`)).ok;
    },
    120_000,
  ).catch((err) => {
    throw new Error(`${(err as Error).message} (log: ${join(stack.logDir, `offline-${opts.port}.log`)})`);
  });
  say(`http api     ${stack.baseUrl} (serverless-offline, in-process)`);
  const sqs = localSqsClient(stack.env['SQS_ENDPOINT']!);
  const arn = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: stack.env['ORDERS_QUEUE_URL'], AttributeNames: ['QueueArn'] }),
  );
  const window_s = opts.maximum_batching_window_s ?? queues.maximum_batching_window_s;
  stack.trigger = startSqsTrigger({
    sqs,
    queueUrl: stack.env['ORDERS_QUEUE_URL']!,
    queueArn: arn.Attributes?.['QueueArn'] ?? 'arn:aws:sqs:us-east-1:000000000000:orders',
    invoke: deliverer(opts, offlineInvoker(lambdaPort, `${SERVICE}-${STAGE}-persistOrders`)),
    batch_size: queues.batch_size,
    maximum_batching_window_s: window_s,
    maximum_concurrency: queues.maximum_concurrency,
    log: (msg, extra) => say(`${msg} ${extra ? JSON.stringify(extra) : ''}`),
  });
  say(
    `sqs trigger  ${stack.env['ORDERS_QUEUE_URL']} -> persistOrders (batch ${queues.batch_size}, window ${window_s} s, concurrency ${queues.maximum_concurrency})`,
  );
}

/**
 * The caller's environment plus the functions'. A plain secret the caller exported must not reach
 * functions given its reference: lib/config.ts rejects a secret set both ways.
 */
function offlineEnv(stack: Stack): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...stack.functionEnv };
  for (const k of Object.keys(stack.functionEnv)) if (k.endsWith('_SECRET_ARN')) delete env[k.slice(0, -4)];
  return env;
}

/** The sandbox process (infra/local/sandbox): local mode only, never in serverless.yml. */
async function startSandbox(stack: Stack, opts: StackOpts, say: (m: string) => void): Promise<void> {
  const port = await portNear(opts.port + 5);
  const main = join(ROOT, 'infra/local/sandbox/main.ts');
  stack.sandbox = startProc(
    `sandbox-${opts.port}`,
    process.execPath,
    ['--import', 'tsx', main, String(port), stack.baseUrl],
    {
      logDir: stack.logDir,
      cwd: ROOT,
      env: { ...process.env, ...stack.env, LOG_LEVEL: 'WARN' },
    },
  );
  stack.sandboxUrl = `http://127.0.0.1:${port}`;
  const sandbox = stack.sandbox;
  await waitFor(
    'the sandbox',
    async () => {
      if (sandbox.child.exitCode !== null) throw new GaveUp('the sandbox exited; see its log');
      return (await fetch(`${stack.sandboxUrl}/provider/stats`)).ok;
    },
    30_000,
  );
  // The CLI's `simulate` finds the test provider here.
  writeFileSync(join(stack.dataDir, 'sandbox.json'), JSON.stringify({ url: stack.sandboxUrl }));
  say(`sandbox      ${stack.sandboxUrl}/shop/{product_id} (storefront, buyer tokens, test payment provider)`);
}

/** With duplicateDelivery on (read per batch, so a fault can switch it), every batch is delivered
 * twice at once: the consumer must still end with one row per order. */
function deliverer<E, R>(opts: StackOpts, invoke: (e: E) => Promise<R>): (e: E) => Promise<R> {
  return async (e) => (opts.duplicateDelivery ? (await Promise.all([invoke(e), invoke(e)]))[0] : invoke(e));
}

async function stopOffline(stack: Stack): Promise<void> {
  await stack.trigger?.stop();
  stack.trigger = null;
  await stack.offline?.stop('SIGINT');
  stack.offline = null;
}

/** Relative to the project (serverless-esbuild joins it to the service folder); under the ignored .esbuild/. */
const esbuildFolder = (opts: StackOpts) => join('.esbuild', `offline-${opts.port}`);

async function stopAll(stack: Stack): Promise<void> {
  await stack.sandbox?.stop('SIGTERM');
  stack.sandbox = null;
  await stopOffline(stack);
  await stack.queue?.proc?.stop();
  await stack.postgres?.proc.stop('SIGINT'); // fast shutdown: clean, no recovery on next start
  await stack.redis?.proc.stop('SIGTERM');
  for (const p of stack.redisCluster?.procs ?? []) await p.stop('SIGTERM');
  rmSync(join(ROOT, esbuildFolder(stack.opts)), { recursive: true, force: true });
}

/**
 * A process that exits by itself (not killed by a signal: a stop or a fault's kill -9) has crashed:
 * say so with the end of its log, which is otherwise removed with the data folder.
 */
function reportCrash(proc: Proc, logFile: string, say: (m: string) => void): void {
  void proc.exited.then((code) => {
    if (proc.child.signalCode !== null || code === 0) return;
    const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n') : '';
    say(`${proc.name} exited by itself (code ${code}); the end of its log:\n${tail}`);
  });
}
