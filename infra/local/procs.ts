// Child processes of the local stack: started with their output in a log file, stopped on request,
// and never left behind when the parent exits.
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface Proc {
  name: string;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  /** stop() was called: an exit after it was asked for (a stop, or a fault's deliberate kill). */
  readonly stopRequested: boolean;
  stop(signal?: NodeJS.Signals, grace_ms?: number): Promise<void>;
}

const running = new Set<Proc>();
let exitHookInstalled = false;
/** npm start's record of its children (recordChildrenIn), or null: not recorded. */
let registry: string | null = null;

/** A process as the kernel knows it: a pid alone may be reused once the process is gone. */
export interface ProcessId {
  pid: number;
  /** clock ticks after boot at which it started (/proc/PID/stat field 22; the stack runs on Linux) */
  started: number;
}

/** The process under `pid` now, or null when there is none. */
export function processId(pid: number): ProcessId | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, started: Number(fields[19]) };
  } catch {
    return null;
  }
}

/** The same process still runs (not merely a new one under its pid). */
export function stillRunning(id: ProcessId): boolean {
  return processId(id.pid)?.started === id.started;
}

export interface ChildRecord {
  owner: ProcessId;
  children: (ProcessId & { name: string })[];
}

/**
 * From now on every child this process starts is listed in `file`, with this process as owner:
 * when this process is killed (kill -9 leaves no time to stop them), the next start in the same
 * data folder finds and stops what it left running (infra/local/leftovers.ts).
 */
export function recordChildrenIn(file: string): void {
  registry = file;
  writeRegistry();
}

function writeRegistry(): void {
  if (!registry) return;
  const children = [...running].flatMap((p) => {
    const id = p.child.pid ? processId(p.child.pid) : null;
    return id ? [{ ...id, name: p.name }] : [];
  });
  const record: ChildRecord = { owner: processId(process.pid)!, children };
  writeFileSync(registry, JSON.stringify(record));
}

export function startProc(
  name: string,
  cmd: string,
  args: string[],
  opts: SpawnOptions & { logDir: string },
): Proc {
  mkdirSync(opts.logDir, { recursive: true });
  // The child writes its output straight to its log file: this process copies nothing, and a child
  // whose writes are synchronous (Node's stdout) never waits for this one to drain a pipe (a busy
  // or blocked parent used to freeze serverless-offline on a full pipe).
  const log = openSync(join(opts.logDir, `${name}.log`), 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { ...opts, stdio: ['ignore', log, log] });
  } finally {
    closeSync(log); // the child holds its own copy
  }
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.on('error', () => resolve(-1));
  });
  let stopRequested = false;
  const proc: Proc = {
    name,
    child,
    exited,
    get stopRequested() {
      return stopRequested;
    },
    async stop(signal = 'SIGTERM', grace_ms = 10_000) {
      stopRequested = true;
      running.delete(proc);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), grace_ms);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(proc);
  writeRegistry();
  exited.then(() => {
    running.delete(proc);
    writeRegistry();
  });
  installExitHook();
  return proc;
}

/** Last resort: a parent that dies takes its children with it (SIGKILL, synchronously). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of running) p.child.kill('SIGKILL');
  });
}

/** Thrown by a waitFor probe that knows waiting longer cannot help (the process died). */
export class GaveUp extends Error {}

/** For a waitFor probe: a process that has exited will not come up; say why from its log. */
export function assertRunning(proc: Proc, logDir: string, lines = 5): void {
  const { exitCode, signalCode } = proc.child;
  if (exitCode === null && signalCode === null) return;
  const log = join(logDir, `${proc.name}.log`);
  const tail = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-lines).join('\n') : '';
  throw new GaveUp(`${proc.name} exited (${signalCode ?? `code ${exitCode}`}); the end of ${log}:\n${tail}`);
}

export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeout_ms = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      if (err instanceof GaveUp) throw err;
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeout_ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A stack's ports stay this far below the kernel's ephemeral range (its highest offset is +12). */
const STACK_PORTS_SPAN = 20;
const BASE_PORT_MIN = 20_000;

/**
 * Where Linux starts handing out ports to outgoing connections (/proc/sys/net/ipv4/ip_local_port_range):
 * a client socket on the port a stack is about to listen on makes that listen fail (EADDRINUSE).
 * serverless-offline binds its port a minute after the check, while the suite opens thousands of
 * connections: with bases drawn up to 50,000 that took a CI run's npm start test.
 */
function ephemeralStart(): number {
  try {
    const first = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    return Number.isInteger(first) && first > BASE_PORT_MIN + 1_000 ? first : 50_000;
  } catch {
    return 50_000; // not Linux: the range drawn before
  }
}

/**
 * A random base port whose neighbours (+1..+3, +10..+12, used by a stack) are free too, so stacks
 * started side by side (test runs, fault groups, bench) rarely meet; `portNear` covers the rest.
 * Drawn below the ephemeral range (20,000 up to 32,748 on Linux's defaults).
 */
export async function basePort(preferred?: number): Promise<number> {
  const span = ephemeralStart() - STACK_PORTS_SPAN - BASE_PORT_MIN;
  for (let i = 0; i < 50; i++) {
    const p = i === 0 && preferred ? preferred : BASE_PORT_MIN + Math.floor(Math.random() * span);
    const all = await Promise.all([0, 1, 2, 3, 10, 11, 12].map((d) => portFree(p + d)));
    if (all.every(Boolean)) return p;
  }
  return freePort();
}

/** The derived port when it is free, else any free one (two stacks must run side by side). */
export async function portNear(preferred: number): Promise<number> {
  return (await portFree(preferred)) ? preferred : freePort();
}

export function run(cmd: string, args: string[], opts: SpawnOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${String(r.stderr || r.stdout).trim()}`);
  }
  return String(r.stdout ?? '');
}
