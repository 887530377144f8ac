// `npm start` only: a service of the local stack that exits without being asked to (kill -9, a
// crash, the OOM killer) is started again on its port with its data, the way AWS replaces a failed
// ElastiCache node, RDS instance or Lambda execution environment. What the restart costs is what
// the product must survive anyway: Redis comes back from its AOF, PostgreSQL through crash
// recovery, the queue emulator empty (its messages lived in memory; the Redis outbox re-send
// recovers them), serverless-offline with a new SQS trigger. The tests and `npm run chaos` inject
// faults deliberately, with restarts of their own, and do not use this.
import { setTimeout as sleep } from 'node:timers/promises';
import { restartFunctions, restartPostgres, restartQueue, restartRedis } from './faults';
import type { Proc } from './procs';
import type { Stack } from './stack';

/** A service that keeps dying is left down (and said so) instead of restarted in a tight loop. */
export const RESTARTS_MAX = 5;
export const RESTART_WINDOW_MS = 60_000;
/** Before a restart: a killed postmaster's backends need a moment to exit and free its memory. */
export const RESTART_DELAY_MS = 1000;
/** Tries of one restart (a dead process may still hold its port or files) before it is left down. */
export const RESTART_ATTEMPTS_MAX = 5;

export interface Timing {
  delay_ms: number;
  window_ms: number;
  /** restarts within window_ms */
  max: number;
  attempts_max: number;
}

export interface Service {
  name: string;
  /** the service's current process (a restart replaces it); null when the stack does not run it */
  proc: () => Proc | null | undefined;
  restart: () => Promise<void>;
}

export interface Supervisor {
  /** Called before the stack stops: nothing is restarted after it. */
  close(): void;
}

/** The stack's own services, each with the restart the fault suite uses for it. */
export function stackServices(stack: Stack): Service[] {
  return [
    { name: 'redis', proc: () => stack.redis?.proc, restart: () => restartRedis(stack) },
    { name: 'postgresql', proc: () => stack.postgres?.proc, restart: () => restartPostgres(stack) },
    { name: 'the queue emulator', proc: () => stack.queue?.proc, restart: () => restartQueue(stack) },
    {
      name: 'serverless-offline',
      proc: () => stack.offline,
      restart: async () => {
        // The trigger delivers to the dead process's Lambda port: a new one comes with the restart.
        // A process of an earlier attempt that never became healthy would hold the ports: gone too.
        await stack.trigger?.stop();
        stack.trigger = null;
        await stack.offline?.stop('SIGKILL');
        stack.offline = null;
        await restartFunctions(stack);
      },
    },
  ];
}

export function supervise(
  services: Service[],
  say: (m: string) => void,
  timing: Timing = {
    delay_ms: RESTART_DELAY_MS,
    window_ms: RESTART_WINDOW_MS,
    max: RESTARTS_MAX,
    attempts_max: RESTART_ATTEMPTS_MAX,
  },
): Supervisor {
  let closed = false;
  const watch = async (s: Service) => {
    const restarted_at_ms: number[] = [];
    for (;;) {
      const proc = s.proc();
      if (!proc) return;
      const code = await proc.exited;
      if (closed || proc.stopRequested) return;
      const how = proc.child.signalCode ?? `code ${code}`;
      const now_ms = Date.now();
      while (restarted_at_ms.length && restarted_at_ms[0]! < now_ms - timing.window_ms)
        restarted_at_ms.shift();
      if (restarted_at_ms.length >= timing.max) {
        say(
          `${s.name} exited (${how}) after ${timing.max} restarts within ${timing.window_ms / 1000} s: left down (its log: ${proc.name}.log)`,
        );
        return;
      }
      restarted_at_ms.push(now_ms);
      say(`${s.name} exited unasked (${how}): starting it again`);
      if (!(await restartWithRetries(s, timing, () => closed, say))) return;
      say(`${s.name} is back`);
    }
  };
  for (const s of services) void watch(s);
  return {
    close() {
      closed = true;
    },
  };
}

/** A restart can fail while the dead process still holds its port or files: try a few times. */
async function restartWithRetries(
  s: Service,
  timing: Pick<Timing, 'delay_ms' | 'attempts_max'>,
  isClosed: () => boolean,
  say: (m: string) => void,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    await sleep(timing.delay_ms * attempt);
    if (isClosed()) return false;
    try {
      await s.restart();
      return true;
    } catch (err) {
      if (attempt >= timing.attempts_max) {
        say(`${s.name} could not be started again: ${(err as Error).message}; left down`);
        return false;
      }
      say(`${s.name} did not start (${(err as Error).message}); trying again`);
    }
  }
}
