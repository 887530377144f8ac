// `npm test`: the vitest runs in stages, one stage after the other; the runs of one stage run side
// by side, each on a stack of its own (free ports, its own temp folder and esbuild work folder).
// A stage starts only when the one before passed, as with `&&`; the summary closes a passing run
// (package.json). Output of side-by-side runs is prefixed with the run's name.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

interface Run {
  /** the JSON report's name (test-reports/vitest-NAME.json) and the prefix of its output lines */
  name: string;
  args: string[];
  env?: Record<string, string>;
}

const VITEST = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));

const vitest = (name: string, projects: string[], env: Record<string, string> = {}): Run => ({
  name,
  args: [VITEST, 'run', ...projects.flatMap((p) => ['--project', p])],
  env,
});

// `main-serial` is the main suite's load-style files, on main's stack, after its other files.
const MAIN = ['main', 'main-serial'];

// The cluster run (the main suite again, on a three-master Redis Cluster) goes beside the fault
// suite: most of the fault suite's time is fixed waits (each scenario's 9 s of load, the fault held,
// the rebuild's 10 s fence), measured at 94 s of CPU in 308 s of wall time on one stack, where the
// main suite took 185 s of CPU; its two groups run one after the other, each on a stack of its own.
// Everything else is one after the other: on two cores, the main suite beside the template checks
// took 217 s where the two took 145 + 46 s apart (README, "Tests").
const STAGES: Run[][] = [
  [vitest('unit', ['unit'])],
  [vitest('template', ['template'])],
  [vitest('main', MAIN)],
  [vitest('cluster', MAIN, { LOCAL_REDIS_CLUSTER: '1' }), vitest('faults', ['faults'])],
];

const running = new Set<ChildProcess>();
let stopped = false;
// Stopped from outside (CI's stage timeout, Ctrl-C): each vitest stops its own stack on the signal.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopped = true;
    for (const child of running) child.kill(signal);
    process.exitCode = 1;
  });
}

function start(run: Run, prefixed: boolean): Promise<number> {
  const child = spawn(process.execPath, run.args, {
    env: { ...process.env, VITEST_REPORT: run.name, ...run.env },
    stdio: prefixed ? ['ignore', 'pipe', 'pipe'] : 'inherit',
  });
  running.add(child);
  child.on('close', () => running.delete(child));
  if (prefixed) {
    for (const [from, to] of [
      [child.stdout!, process.stdout],
      [child.stderr!, process.stderr],
    ] as const) {
      createInterface({ input: from }).on('line', (line) => to.write(`[${run.name}] ${line}\n`));
    }
  }
  return new Promise((done) => child.on('close', (code, signal) => done(code ?? (signal ? 1 : 0))));
}

// `tsx infra/local/run-tests.ts cluster faults`: only the runs named (their stages kept).
// TEST_SERIAL=1: every run after the other, none side by side (a machine too busy for two stacks).
const only = process.argv.slice(2);
const serial = process.env['TEST_SERIAL'] === '1';
const stages = (serial ? STAGES.flat().map((r) => [r]) : STAGES)
  .map((stage) => stage.filter((r) => only.length === 0 || only.includes(r.name)))
  .filter((stage) => stage.length);

const t0 = Date.now();
for (const stage of stages) {
  const ts = Date.now();
  const codes = await Promise.all(stage.map((r) => start(r, stage.length > 1)));
  const names = stage.map((r) => r.name).join(' + ');
  console.log(`[npm test] ${names}: ${((Date.now() - ts) / 1000).toFixed(1)} s wall`);
  const failed = stage.filter((_, i) => codes[i] !== 0).map((r) => r.name);
  if (stopped) process.exit(1);
  if (failed.length) {
    console.error(`[npm test] failed: ${failed.join(', ')}; later stages not run`);
    process.exit(1);
  }
}
console.log(`[npm test] all stages: ${((Date.now() - t0) / 1000).toFixed(1)} s wall`);
