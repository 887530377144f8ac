// The services a CLI command needs, checked before it runs: with the local stack stopped a command
// ended on a bare `connect ECONNREFUSED`, ioredis's "max retries per request" or "fetch failed",
// none of which says what was down or what to do about it.
import { connect } from 'node:net';

export type ServiceName = 'Redis' | 'PostgreSQL' | 'the queue (SQS)' | 'the API';

export interface Service {
  name: ServiceName;
  /** the setting (or option) its address came from */
  setting: string;
  /** its URL, or undefined when that setting is not set */
  url: string | undefined;
  /** not set means not used: the command goes on without it (an audit without the DLQ's depth) */
  optional?: boolean;
}

/** Why a service cannot be used, or null when a TCP connection to it opens. */
export type Unreachable = { service: Service; reason: string } | null;

const DEFAULT_PORTS: Record<string, number> = {
  'redis:': 6379,
  'rediss:': 6379,
  'postgres:': 5432,
  'postgresql:': 5432,
  'http:': 80,
  'https:': 443,
};

/** The settings' services; a Redis Cluster is reached through its first node, as ioredis starts. */
export function services(env: NodeJS.ProcessEnv, apiUrl?: string): Record<ServiceName, Service> {
  const node = env['REDIS_CLUSTER_NODES']?.split(',')[0]?.trim();
  return {
    Redis: node
      ? { name: 'Redis', setting: 'REDIS_CLUSTER_NODES', url: `redis://${node}` }
      : { name: 'Redis', setting: 'REDIS_URL', url: env['REDIS_URL'] },
    PostgreSQL: { name: 'PostgreSQL', setting: 'DATABASE_URL', url: env['DATABASE_URL'] },
    // the emulator's endpoint locally; in AWS the queue URL's own host
    'the queue (SQS)': env['SQS_ENDPOINT']
      ? { name: 'the queue (SQS)', setting: 'SQS_ENDPOINT', url: env['SQS_ENDPOINT'], optional: true }
      : {
          name: 'the queue (SQS)',
          setting: 'ORDERS_QUEUE_URL',
          url: env['ORDERS_QUEUE_URL'],
          optional: true,
        },
    'the API': { name: 'the API', setting: '--url', url: apiUrl },
  };
}

/** The first of `needed` that is not set or does not accept a connection, in order. */
export async function firstUnreachable(needed: Service[], timeout_ms = 3000): Promise<Unreachable> {
  for (const service of needed) {
    if (service.url === undefined && service.optional) continue;
    const reason = service.url === undefined ? 'not set' : await refusal(service.url, timeout_ms);
    if (reason) return { service, reason };
  }
  return null;
}

/** host:port of a URL, with its scheme's default port. */
export function address(url: string): { host: string; port: number } {
  const u = new URL(url);
  // URL keeps the brackets of an IPv6 host; net.connect wants it bare
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port) || DEFAULT_PORTS[u.protocol] || 80,
  };
}

/** Why no TCP connection opens to the URL's host and port, or null when one does. */
async function refusal(url: string, timeout_ms: number): Promise<string | null> {
  let target: { host: string; port: number };
  try {
    target = address(url);
  } catch {
    return `not a URL: ${url}`;
  }
  return new Promise((resolve) => {
    const socket = connect(target);
    const done = (reason: string | null) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeout_ms, () => done(`no answer within ${timeout_ms / 1000} s`));
    socket.once('connect', () => done(null));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(err.code === 'ECONNREFUSED' ? 'connection refused' : (err.code ?? err.message)),
    );
  });
}
