// `npm test`: the vitest runs in stages, one stage after the other. A stage is lanes side by side;
// a lane is runs one after the other, each run on a stack of its own (free ports, its own temp
// folder and esbuild work folder). A stage starts only when the one before passed, as with `&&`; a
// lane stops at its first failed run; the summary closes a passing run (package.json). Output of
// side-by-side runs is prefixed with the run's name.
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

// A stage is lanes side by side; a lane is runs one after the other, each on a stack of its own.
// The last stage: the fault suite in one lane, main then the cluster run (the main suite again, on a
// three-master Redis Cluster) in the other. Most of the fault suite's time is fixed waits (each
// scenario's 9 s of load, the fault held, the rebuild's 10 s fence), measured at 94 s of CPU in 308 s
// of wall time, where the main suite took 185 s of CPU: main and cluster fill those waits. Never more
// than two stacks at once: three starved the loads (README, "Tests"). The template checks stay
// alone: beside the main suite the two took 217 s where they took 145 + 46 s apart.
type Stage = Run[][];
const STAGES: Stage[] = [
  [[vitest('unit', ['unit'])]],
  [[vitest('template', ['template'])]],
  [
    [vitest('main', MAIN), vitest('cluster', MAIN, { LOCAL_REDIS_CLUSTER: '1' })],
    [vitest('faults', ['faults'])],
  ],
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

// `tsx infra/local/run-tests.ts cluster faults`: only the runs named (their stages and lanes kept).
// TEST_SERIAL=1: every run after the other, none side by side (a machine too busy for two stacks).
const only = process.argv.slice(2);
const serial = process.env['TEST_SERIAL'] === '1';
const stages: Stage[] = (serial ? STAGES.flat(2).map((r) => [[r]]) : STAGES)
  .map((stage) =>
    stage
      .map((lane) => lane.filter((r) => only.length === 0 || only.includes(r.name)))
      .filter((lane) => lane.length),
  )
  .filter((stage) => stage.length);

/** A lane's runs one after the other; stops at the first that fails. Returns the failed run's name. */
async function runLane(lane: Run[], prefixed: boolean): Promise<string | null> {
  for (const run of lane) {
    const tr = Date.now();
    const code = await start(run, prefixed);
    if (prefixed) console.log(`[npm test] ${run.name}: ${seconds(tr)} s wall`);
    if (code !== 0 || stopped) return run.name;
  }
  return null;
}

const seconds = (since_ms: number) => ((Date.now() - since_ms) / 1000).toFixed(1);

const t0 = Date.now();
for (const stage of stages) {
  const ts = Date.now();
  const failed = (await Promise.all(stage.map((lane) => runLane(lane, stage.length > 1)))).filter(
    (name) => name !== null,
  );
  const names = stage.map((lane) => lane.map((r) => r.name).join(' → ')).join(' ∥ ');
  console.log(`[npm test] ${names}: ${seconds(ts)} s wall`);
  if (stopped) process.exit(1);
  if (failed.length) {
    console.error(`[npm test] failed: ${failed.join(', ')}; later runs not started`);
    process.exit(1);
  }
}
console.log(`[npm test] all stages: ${seconds(t0)} s wall`);
