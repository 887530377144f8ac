// npm's long-running scripts must hand a signal to the script itself. They ran under the `tsx`
// command, which runs the script in a child process, relays a signal and SIGKILLs that child unless
// it acknowledges within 30 ms: on a busy machine `kill <npm pid>` killed `npm start` outright and
// its Redis, PostgreSQL, queue and serverless-offline kept running (a CI run). This runs each
// script's own runner (its package.json command, with a fixture in place of its file) on a script
// whose event loop is busy, and signals it as npm would.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURE = join(import.meta.dirname, 'fixtures', 'busy-until-signalled.ts');
const scripts = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;
const LONG_RUNNING = ['start', 'bench', 'bench:expiry', 'capacity', 'load', 'chaos', 'soak'];

/** The script's command with the fixture in place of its .ts file, e.g. `exec node --import tsx F`. */
function runnerOf(name: string): string {
  const command = scripts[name];
  if (!command) throw new Error(`package.json has no script ${name}`);
  return command.replace(/\S+\.ts\b/, FIXTURE);
}

async function signalWhenReady(command: string, signal: NodeJS.Signals): Promise<string> {
  const env = { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env['PATH']}` };
  const child = spawn('sh', ['-c', command], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve) =>
    child.stdout.on('data', (d) => {
      out += String(d);
      if (out.includes('ready')) resolve();
    }),
  );
  child.kill(signal); // the runner's pid only, as npm's own relay or `kill <pid>` does
  await exited;
  return out;
}

describe('npm script runners', () => {
  it.each(LONG_RUNNING)(
    '%s: a busy script still gets SIGTERM and SIGINT and stops itself',
    async (name) => {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        expect(await signalWhenReady(runnerOf(name), signal)).toContain(`stopped cleanly on ${signal}`);
      }
    },
    30_000,
  );
});
