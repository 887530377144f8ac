// The README's first command as a user runs it: `npm start` comes up on a port and data folder of
// its own, takes the order its printed curl places, and a signal sent to the npm process itself (a
// process manager, `kill <pid>`) stops everything it started. Before `exec` in the start script,
// npm's SIGTERM stopped only npm and its shell: tsx, the stack and its services kept running.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHILDREN_FILE } from '../../infra/local/leftovers';
import { basePort, type ChildRecord, type ProcessId, stillRunning } from '../../infra/local/procs';
import { waitUntil } from '../helpers/domain';

const READY_TIMEOUT_MS = 240_000;
const dataDirs: string[] = [];

afterAll(async () => {
  // A failed run may leave the stack up: stop what each start recorded before removing its folder.
  for (const d of dataDirs) {
    const left = leftRunning(d);
    for (const c of left) process.kill(c.pid, 'SIGINT');
    await new Promise((r) => setTimeout(r, left.length ? 5_000 : 0));
    for (const c of leftRunning(d)) process.kill(c.pid, 'SIGKILL');
    rmSync(d, { recursive: true, force: true });
  }
}, 30_000);

function leftRunning(dataDir: string): ProcessId[] {
  try {
    const r = recordedChildren(dataDir);
    return [r.owner, ...r.children].filter(stillRunning);
  } catch {
    return [];
  }
}

/** `npm start` with only what a user's shell has: none of this suite's stack variables. */
async function npmStart(): Promise<{
  npm: ChildProcess;
  url: string;
  dataDir: string;
  output: () => string;
}> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flash-sale-npm-start-'));
  chmodSync(dataDir, 0o755); // PostgreSQL's system user must reach its cluster inside
  dataDirs.push(dataDir);
  const port = await basePort();
  const env: Record<string, string> = { PORT: String(port), DATA_DIR: dataDir };
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'USER', 'LANG']) if (process.env[k]) env[k] = process.env[k]!;
  const npm = spawn('npm', ['start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  npm.stdout!.on('data', (d) => {
    out += String(d);
  });
  npm.stderr!.on('data', (d) => {
    out += String(d);
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(
    'npm start ready',
    async () =>
      (await fetch(`${url}/readyz`).catch(() => null))?.status === 200 && out.includes('Buyer token'),
    READY_TIMEOUT_MS,
  );
  return { npm, url, dataDir, output: () => out };
}

function recordedChildren(dataDir: string): ChildRecord {
  return JSON.parse(readFileSync(join(dataDir, CHILDREN_FILE), 'utf8')) as ChildRecord;
}

describe('npm start', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(
      `serves the printed curl, and ${signal} to the npm process stops everything it started`,
      async () => {
        const { npm, url, dataDir, output } = await npmStart();
        const buyer = /Buyer token[^\n]*\n\s*(\S+)/.exec(output())![1]!;
        const order = await fetch(`${url}/api/orders`, {
          method: 'POST',
          headers: { authorization: `Bearer ${buyer}`, 'content-type': 'application/json' },
          body: JSON.stringify({ product_id: 1, qty: 2 }),
        });
        expect(order.status).toBe(202);
        const record = recordedChildren(dataDir);
        expect(record.children.map((c) => c.name)).toEqual(
          expect.arrayContaining([expect.stringMatching(/redis/), expect.stringMatching(/offline/)]),
        );
        const exited = new Promise((resolve) => npm.once('exit', resolve));
        npm.kill(signal); // npm's pid only, as `kill <pid>` does
        await exited;
        await waitUntil(
          `every child of npm start stopped after ${signal}`,
          async () => !stillRunning(record.owner) && record.children.every((c) => !stillRunning(c)),
          30_000,
        );
        expect(output()).toContain(`${signal}: stopping everything`);
      },
      READY_TIMEOUT_MS + 60_000,
    );
  }
});
