// One Redis connection per container, created outside the handler and reused by every invocation.
import { readFileSync } from 'node:fs';
import { Cluster, Redis } from 'ioredis';
import { config } from '../config';
import { logger } from '../platform/logger';
import { parseCredentials } from '../platform/secrets';
import { registerScripts, type ScriptClient } from './scripts';

let client: ScriptClient | undefined;

/**
 * Written at once instead of through an auto-pipeline: the request path's calls (reserve.lua, and
 * rate-limiter-flexible's `rlflxIncr` script). A Lambda container runs one invocation at a time, so
 * they never share a pipeline with anything, and an auto-pipeline costs a Pipeline object per call
 * (every registered script copied onto it) and a deferred write (setImmediate). Measured at 1 in
 * flight (load/README.md, "Cheaper orders"): 0.19 ms less CPU per createOrder; no loss at 10 and
 * 100 in flight in one process. Everything else (persistOrders' acks, the release run's batches)
 * is still auto-pipelined: those calls are issued together and do share a write.
 */
export const NOT_AUTO_PIPELINED = ['reserve', 'rlflxIncr'];

export function redisClient(): ScriptClient {
  if (client) return client;
  const c = config();
  // MemoryDB: an ACL user (REDIS_SECRET, or REDIS_SECRET_ARN read at container start).
  if (c.REDIS_SECRET_ARN && !c.REDIS_SECRET)
    throw new Error('REDIS_SECRET_ARN is set but not read yet: the handler must await secretsReady()');
  const user = parseCredentials('REDIS_SECRET', c.REDIS_SECRET);
  const common = {
    // An unanswered command fails fast instead of hanging the request; the caller answers 503.
    commandTimeout: c.REDIS_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    // A new connection's first command goes out right after ioredis 6's HELLO, not after another
    // round trip for its ready check (INFO, parsed, to wait while a restarted node loads its data).
    // A cold start pays it on every node it connects to, in its first invocation. A node still
    // loading answers LOADING, which the handlers answer 503 like any unreachable Redis
    // (lib/platform/dependency-errors.ts) instead of holding the request until the command
    // timeout. ~2 ms of a local first invocation (README, "Cold starts"); in AWS the round trip
    // also crosses the network. No CLIENT SETINFO either (a library name for CLIENT LIST), which
    // ioredis sends as two more commands when the server refuses RESP3.
    enableReadyCheck: false,
    disableClientInfo: true,
    enableAutoPipelining: true,
    autoPipeliningIgnoredCommands: NOT_AUTO_PIPELINED,
    ...(user ? { username: user.username, password: user.password } : {}),
  };
  const tls = c.TLS_CA_PATH ? { ca: readFileSync(c.TLS_CA_PATH, 'utf8') } : {};
  let raw: Redis | Cluster;
  if (c.REDIS_CLUSTER_NODES) {
    const nodes = c.REDIS_CLUSTER_NODES.split(',').map((hp) => {
      const [host, port] = hp.trim().split(':');
      return { host: host ?? '127.0.0.1', port: Number(port ?? 6379) };
    });
    raw = new Cluster(nodes, {
      redisOptions: { ...common, ...(c.REDIS_TLS ? { tls } : {}) },
      enableAutoPipelining: true,
      autoPipeliningIgnoredCommands: NOT_AUTO_PIPELINED,
      // AWS cluster endpoints: keep the hostnames (TLS certificates name them), do not re-resolve.
      ...(c.REDIS_TLS
        ? { dnsLookup: (address: string, cb: (e: null, a: string) => void) => cb(null, address) }
        : {}),
    });
  } else {
    if (!c.REDIS_URL) throw new Error('configuration: REDIS_URL or REDIS_CLUSTER_NODES must be set');
    // rediss:// turns TLS on; the extra CA (tests) applies then too.
    raw = new Redis(c.REDIS_URL, { ...common, ...(c.REDIS_URL.startsWith('rediss:') ? { tls } : {}) });
  }
  // Without a listener ioredis prints every reconnect failure to stderr; the callers already see
  // the failed commands (and answer 503), so one structured warning per error is enough.
  raw.on('error', (err: Error) => logger.warn('redis connection error', { error: err.message }));
  client = registerScripts(raw);
  return client;
}

export async function closeRedis(): Promise<void> {
  const c = client;
  client = undefined;
  if (c) await c.quit().catch(() => c.disconnect());
}
