// Finds Redis and PostgreSQL binaries; installs Debian's packages when missing and running as root,
// otherwise stops with the exact command to run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Tools {
  redisServer: string;
  pgBin: string;
}

const PACKAGES = ['redis-server', 'postgresql'];

export function findTools(): Partial<Tools> {
  const redisServer =
    which('redis-server') ?? (existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : undefined);
  return { redisServer, pgBin: findPgBin() };
}

function findPgBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  const pg = which('postgres');
  const initdb = which('initdb');
  return pg && initdb ? join(pg, '..') : undefined;
}

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path ? path : undefined;
}

export function ensureTools(say: (msg: string) => void = console.log): Tools {
  let found = findTools();
  const missing = missingPackages(found);
  if (missing.length > 0) {
    aptInstall(missing, say);
    found = findTools();
    const still = missingPackages(found);
    if (still.length > 0) throw new Error(`still missing after apt-get install: ${still.join(', ')}`);
  }
  return found as Tools;
}

/** Commands from Debian packages (e.g. `{ ab: 'apache2-utils', wrk: 'wrk' }`), installed the same way. */
export function ensureCommands(
  commands: Record<string, string>,
  say: (msg: string) => void = console.log,
): void {
  const missing = () => Object.keys(commands).filter((c) => !which(c));
  const first = missing();
  if (first.length === 0) return;
  aptInstall([...new Set(first.map((c) => commands[c]!))], say);
  const still = missing();
  if (still.length > 0) throw new Error(`still missing after apt-get install: ${still.join(', ')}`);
}

/** As root: apt-get install. Otherwise: stop with the exact command to run. */
function aptInstall(packages: string[], say: (msg: string) => void): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing ${packages.join(' and ')}. Install with:\n  sudo apt-get update && sudo apt-get install -y ${packages.join(' ')}`,
    );
  }
  say(`installing Debian packages: ${packages.join(' ')} (apt-get, as root)`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

function missingPackages(t: Partial<Tools>): string[] {
  return PACKAGES.filter((p) => (p === 'redis-server' ? !t.redisServer : !t.pgBin));
}
