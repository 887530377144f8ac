// Where the CPU goes: per-process CPU time from /proc (Linux), sampled around a measured run and
// divided by the requests served. The machine-wide figure also counts anything else running on it.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function ticksOf(pid: number): number {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime (fields 14 and 15)
  } catch {
    return 0; // exited
  }
}

function pidsNamed(comm: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === comm) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

function machineBusyTicks(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0); // idle + iowait
  return cpu.reduce((a, b) => a + b, 0) - idle;
}

export interface CpuSample {
  machine_ms: number;
  /** group -> pid -> CPU ms so far */
  groups: Record<string, Record<number, number>>;
}

/** A process and every process below it (PostgreSQL's backends under its postmaster). */
export interface ProcessTree {
  tree: number;
}

function pidsUnder(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  for (let todo = [root]; todo.length > 0; ) {
    const pid = todo.pop()!;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

export type CpuGroup = number[] | string | ProcessTree;

/**
 * CPU milliseconds so far of each group of processes: a list of pids, a process name (every one on
 * the machine), or a process tree. A process that exits between two samples takes its CPU with it.
 */
export function sampleCpu(groups: Record<string, CpuGroup>): CpuSample {
  const out: CpuSample = { machine_ms: machineBusyTicks() * TICK_MS, groups: {} };
  for (const [name, g] of Object.entries(groups)) {
    const pids = typeof g === 'string' ? pidsNamed(g) : Array.isArray(g) ? g : pidsUnder(g.tree);
    out.groups[name] = Object.fromEntries(pids.map((p) => [p, ticksOf(p) * TICK_MS]));
  }
  return out;
}

/**
 * CPU ms spent between two samples, per group: a process in both, its difference; a process only in
 * the second started in between (a PostgreSQL backend for a new connection), all of its CPU.
 */
export function cpuBetween(a: CpuSample, b: CpuSample): Record<string, number> {
  const out: Record<string, number> = { machine: b.machine_ms - a.machine_ms };
  for (const [name, pids] of Object.entries(b.groups)) {
    let ms = 0;
    for (const [pid, v] of Object.entries(pids)) {
      ms += Math.max(0, v - (a.groups[name]?.[Number(pid)] ?? 0));
    }
    out[name] = ms;
  }
  return out;
}
