// The local stack's supervisor (`npm start`) over real child processes (`sleep`): what exits unasked
// is started again, what was stopped on purpose is not, a service that keeps dying is left down.
import { afterEach, describe, expect, it } from 'vitest';
import { type Proc, startProc } from '../../infra/local/procs';
import { type Service, type Supervisor, supervise } from '../../infra/local/supervise';

const logDir = '/tmp/flash-sale-supervise-test';
const timing = { delay_ms: 10, window_ms: 60_000, max: 3, attempts_max: 2 };
const said: string[] = [];
let supervisor: Supervisor | undefined;
const procs: Proc[] = [];

function sleeper(): Service & { starts: number; current: Proc } {
  const start = () => {
    const p = startProc('sleeper', 'sleep', ['60'], { logDir });
    procs.push(p);
    return p;
  };
  const s = {
    name: 'sleeper',
    starts: 1,
    current: start(),
    proc: () => s.current,
    restart: async () => {
      s.current = start();
      s.starts++;
    },
  };
  return s;
}

const until = async (what: string, ok: () => boolean) => {
  const deadline = Date.now() + 5000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}; said ${JSON.stringify(said)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};
const settle = () => new Promise((r) => setTimeout(r, 200));

afterEach(async () => {
  supervisor?.close();
  for (const p of procs.splice(0)) await p.stop('SIGKILL');
  said.length = 0;
});

describe('supervise', () => {
  it('starts a killed process again, and again after each kill', async () => {
    const s = sleeper();
    supervisor = supervise([s], (m) => said.push(m), timing);
    s.current.child.kill('SIGKILL');
    await until('the first restart', () => s.starts === 2 && said.includes('sleeper is back'));
    expect(said[0]).toBe('sleeper exited unasked (SIGKILL): starting it again');
    s.current.child.kill('SIGTERM');
    await until('the second restart', () => s.starts === 3);
    expect(s.current.child.exitCode).toBeNull();
  });

  it('leaves alone a process stopped on purpose, and everything after close()', async () => {
    const asked = sleeper();
    const late = sleeper();
    supervisor = supervise([asked, late], (m) => said.push(m), timing);
    await asked.current.stop();
    supervisor.close();
    late.current.child.kill('SIGKILL');
    await settle();
    expect([asked.starts, late.starts]).toEqual([1, 1]);
    expect(said).toEqual([]);
  });

  it('leaves a process down once it died `max` times within the window', async () => {
    const s = sleeper();
    supervisor = supervise([s], (m) => said.push(m), timing);
    for (let i = 2; i <= 4; i++) {
      s.current.child.kill('SIGKILL');
      await until(`restart ${i}`, () => s.starts === i && s.current.child.exitCode === null);
    }
    s.current.child.kill('SIGKILL');
    await until('given up', () => said.some((m) => m.includes('left down')));
    await settle();
    expect(s.starts).toBe(4);
  });

  it('retries a restart that fails, then gives up saying why', async () => {
    const s = sleeper();
    let failures = 0;
    const broken: Service = {
      ...s,
      restart: async () => {
        failures++;
        throw new Error('port in use');
      },
    };
    supervisor = supervise([broken], (m) => said.push(m), timing);
    s.current.child.kill('SIGKILL');
    await until('given up', () => said.some((m) => m.includes('could not be started again')));
    expect(failures).toBe(timing.attempts_max);
    expect(said.at(-1)).toBe('sleeper could not be started again: port in use; left down');
  });
});
