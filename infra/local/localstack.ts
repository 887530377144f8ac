// LocalStack 4.14.0 on the host (no Docker), run from the project's Python venv: the AWS services
// around the functions (SQS, SNS, SSM, Secrets Manager, CloudFormation, CloudWatch, Logs) on
// loopback only. serverless-offline keeps the HTTP API, the functions and the schedule.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GaveUp, type Proc, startProc, waitFor } from './procs';
import { ensureVenv, venvBin } from './python';

/** What LocalStack runs in host mode without Docker or an account (Lambda, API Gateway v2 need one). */
export const LOCALSTACK_SERVICES = [
  'sqs',
  'sns',
  'ssm',
  'secretsmanager',
  'cloudformation',
  'cloudwatch',
  'logs',
  'iam',
  'sts',
] as const;

export interface LocalstackService {
  endpoint: string;
  proc: Proc;
}

const START_TIMEOUT_MS = 120_000;

/**
 * Starts LocalStack with its gateway on 127.0.0.1:`port` and every file under DATA_DIR/localstack.
 * State is in memory (no PERSISTENCE): a restart starts empty, like the fauxqs emulator.
 */
export async function startLocalstack(opts: {
  dataDir: string;
  logDir: string;
  port: number;
  say?: (msg: string) => void;
}): Promise<LocalstackService> {
  ensureVenv(opts.say);
  const root = resolve(opts.dataDir, 'localstack');
  mkdirSync(root, { recursive: true });
  const proc = startProc(`localstack-${opts.port}`, venvBin('python'), ['-m', 'localstack.runtime.main'], {
    logDir: opts.logDir,
    cwd: root,
    env: localstackEnv(root, opts.port),
  });
  const endpoint = `http://127.0.0.1:${opts.port}`;
  await waitFor(
    'localstack',
    async () => {
      if (proc.child.exitCode !== null) throw new GaveUp(`localstack exited; see ${logOf(opts, proc)}`);
      const health = (await (await fetch(`${endpoint}/_localstack/health`)).json()) as Health;
      return allAvailable(health);
    },
    START_TIMEOUT_MS,
  ).catch(async (err) => {
    await proc.stop('SIGKILL');
    throw new Error(`${(err as Error).message} (log: ${logOf(opts, proc)})`);
  });
  return { endpoint, proc };
}

/**
 * A clean environment (nothing of the project's: LocalStack reads DATA_DIR, PORT, DEBUG, ... itself)
 * with the settings an offline, loopback-only host run needs.
 */
function localstackEnv(root: string, port: number): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ'];
  const base = Object.fromEntries(keep.filter((k) => process.env[k]).map((k) => [k, process.env[k]]));
  return {
    ...base,
    GATEWAY_LISTEN: `127.0.0.1:${port}`,
    // URLs it hands out (queue URLs among them) name loopback, never localhost.localstack.cloud.
    LOCALSTACK_HOST: `127.0.0.1:${port}`,
    // Queue URLs take the host the request came to: http://127.0.0.1:PORT/queue/<region>/<account>/<name>.
    SQS_ENDPOINT_STRATEGY: 'dynamic',
    SERVICES: LOCALSTACK_SERVICES.join(','),
    FILESYSTEM_ROOT: root,
    // Offline and quiet: no DNS server on :53, no analytics events, no certificate download (it
    // generates a self-signed one under FILESYSTEM_ROOT instead), no package downloads.
    DNS_ADDRESS: '0',
    DISABLE_EVENTS: '1',
    SKIP_SSL_CERT_DOWNLOAD: '1',
    SKIP_INFRA_DOWNLOADS: '1',
    PYTHONUNBUFFERED: '1',
  };
}

interface Health {
  services?: Record<string, string>;
}

function allAvailable(health: Health): boolean {
  return LOCALSTACK_SERVICES.every((s) => ['available', 'running'].includes(health.services?.[s] ?? ''));
}

const logOf = (opts: { logDir: string }, proc: Proc) => join(opts.logDir, `${proc.name}.log`);
