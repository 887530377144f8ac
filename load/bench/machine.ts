// What the report records about the machine, and the ports a stack may take on it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

export interface MachineInfo {
  cpu_model: string;
  cpus: number;
  memory_gib: number;
  node: string;
  platform: string;
  loadavg_1m_at_start: number;
  redis: string;
  postgres: string;
  packages: Record<string, string>;
}

export function machineInfo(root: string): MachineInfo {
  const version = (pkg: string) => {
    try {
      return JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8'))
        .version as string;
    } catch {
      return 'unknown';
    }
  };
  const cmd = (c: string, a: string[]) => {
    const r = spawnSync(c, a, { encoding: 'utf8' });
    return (r.stdout || r.stderr || '').trim().split('\n')[0] ?? 'unknown';
  };
  const pgBin = spawnSync('sh', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1'], {
    encoding: 'utf8',
  });
  return {
    cpu_model: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadavg_1m_at_start: Math.round(loadavg()[0]! * 100) / 100,
    redis: cmd('redis-server', ['--version']),
    postgres: cmd(join(pgBin.stdout.trim(), 'postgres'), ['--version']),
    packages: Object.fromEntries(
      [
        'serverless-offline',
        'osls',
        'serverless-esbuild',
        'fauxqs',
        'autocannon',
        'ioredis',
        '@aws-sdk/client-sqs',
      ].map((p) => [p, version(p)]),
    ),
  };
}
