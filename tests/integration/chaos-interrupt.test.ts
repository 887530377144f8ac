// `npm run chaos` interrupted by Ctrl-C stops the stack it started and removes its temporary data
// folders, as `npm run bench` does. Before, SIGINT ended the process at once: the folders under the
// OS tmpdir (the data folder and PostgreSQL's fallback cluster folder) stayed behind. The chaos run
// gets a TMPDIR of its own, so what it leaves there is its own.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { type ProcessId, processId, stillRunning } from '../../infra/local/procs';
import { waitUntil } from '../helpers/domain';

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'chaos-interrupt-'));
chmodSync(tmp, 0o755); // PostgreSQL's system user must reach its fallback folder inside
let started: ProcessId[] = [];

afterAll(async () => {
  // A failed run may leave its services up: end what the chaos run had started, then the folder.
  for (const p of started.filter(stillRunning)) process.kill(p.pid, 'SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

function commandLine(p: ProcessId): string {
  try {
    return readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').replaceAll('\0', ' ').slice(0, 200);
  } catch {
    return `pid ${p.pid}`;
  }
}

/** Every process below `pid` now (children of children too), from /proc. */
function descendants(pid: number): ProcessId[] {
  const parent = new Map<number, number[]>();
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(ppid, [...(parent.get(ppid) ?? []), Number(name)]);
    } catch {} // gone meanwhile
  }
  const out: number[] = [];
  for (let todo = [pid]; todo.length; ) {
    const kids = todo.flatMap((p) => parent.get(p) ?? []);
    out.push(...kids);
    todo = kids;
  }
  return out.flatMap((p) => processId(p) ?? []);
}

it('Ctrl-C during a fault stops the chaos stack and removes its folders', async () => {
  const env: Record<string, string> = { TMPDIR: tmp };
  for (const k of ['PATH', 'HOME', 'USER', 'LANG']) if (process.env[k]) env[k] = process.env[k]!;
  const chaos = spawn(
    process.execPath,
    ['--import', 'tsx', 'infra/chaos/cli.ts', 'redis-kill', '--duration', '60'],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  for (const s of [chaos.stdout, chaos.stderr]) s.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((resolve) => chaos.once('exit', (code) => resolve(code)));

  await waitUntil(
    'the chaos run injects its fault',
    async () => out.includes('fault redis-kill:'),
    240_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; the chaos run printed:\n${out.slice(-4000)}`);
  });
  started = descendants(chaos.pid!);
  expect(readdirSync(tmp).filter((n) => n.startsWith('flash-sale-')).length, out).toBeGreaterThan(0);
  chaos.kill('SIGINT');

  expect(await exited, out).toBe(130);
  // a process killed on the way out may take a moment to go (a zombie until init reaps it)
  await waitUntil('its processes gone', async () => !started.some(stillRunning), 15_000).catch(() => {});
  expect(started.filter(stillRunning).map(commandLine), out).toEqual([]);
  expect(
    readdirSync(tmp).filter((n) => n.startsWith('flash-sale-')),
    out,
  ).toEqual([]);
}, 360_000);
