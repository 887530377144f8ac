// The README's first command as a user runs it: `npm start` comes up on a port and data folder of
// its own, takes the order its printed curl places, and a signal sent to the npm process itself (a
// process manager, `kill <pid>`) stops everything it started. Before `exec` in the start script,
// npm's SIGTERM stopped only npm and its shell: tsx, the stack and its services kept running.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
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
function spawnNpmStart(port: number): { npm: ChildProcess; dataDir: string; output: () => string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'flash-sale-npm-start-'));
  chmodSync(dataDir, 0o755); // PostgreSQL's system user must reach its cluster inside
  dataDirs.push(dataDir);
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
  return { npm, dataDir, output: () => out };
}

async function npmStart(): Promise<{
  npm: ChildProcess;
  url: string;
  dataDir: string;
  output: () => string;
}> {
  const port = await basePort();
  const { npm, dataDir, output } = spawnNpmStart(port);
  const url = `http://127.0.0.1:${port}`;
  let readyz = 'no answer';
  try {
    await waitUntil(
      'npm start ready',
      async () => {
        const r = await fetch(`${url}/readyz`).catch((err: unknown) => String(err));
        readyz = typeof r === 'string' ? r : `${r.status} ${await r.text()}`;
        return readyz.startsWith('200') && output().includes('Buyer token');
      },
      READY_TIMEOUT_MS,
    );
  } catch (err) {
    // What npm start printed and what /readyz last said: a timeout alone says nothing of why.
    throw new Error(
      `${String(err)}; last /readyz: ${readyz.slice(0, 500)}; npm start printed:\n${output().slice(-4000)}`,
    );
  }
  return { npm, url, dataDir, output };
}

/** The kernel's one-letter state of a process (S sleeping, Z zombie, D uninterruptible…). */
function processState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
  } catch {
    return 'gone';
  }
}

function recordedChildren(dataDir: string): ChildRecord {
  return JSON.parse(readFileSync(join(dataDir, CHILDREN_FILE), 'utf8')) as ChildRecord;
}

/**
 * The printed curl's order, under its Idempotency-Key, retried on a 503 as API.md tells a client (a
 * loaded CI machine answered the first order of a fresh stack 503: a Redis call past its timeout).
 */
async function placePrintedOrder(url: string, buyer: string): Promise<{ status: number; body: string }> {
  for (let attempt = 1; ; attempt++) {
    const r = await fetch(`${url}/api/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${buyer}`,
        'content-type': 'application/json',
        'idempotency-key': 'demo-1',
      },
      body: JSON.stringify({ product_id: 1, qty: 2 }),
    });
    const body = await r.text();
    if (r.status !== 503 || attempt === 5) return { status: r.status, body };
    console.warn(`[npm-start test] the printed order answered 503, retrying: ${body}`);
    await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
  }
}

describe('npm start', () => {
  it('refuses a PORT already in use, at once and saying so, and leaves its holder alone', async () => {
    // Before, it printed "Ready" (its health check reached the holder), and its stop deleted a
    // stack holder's build folder.
    const holder = createServer((_req, res) => res.end('holder'));
    const port = await basePort();
    await new Promise<void>((r) => holder.listen(port, '127.0.0.1', r));
    try {
      const { npm, output } = spawnNpmStart(port);
      const code = await new Promise((resolve) => npm.once('exit', resolve));
      expect(code).not.toBe(0);
      expect(output()).toContain(`port ${port} is already in use`);
      expect(output()).not.toContain('Ready');
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('holder');
    } finally {
      holder.close();
    }
  }, 120_000);

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(
      `serves the printed curl, and ${signal} to the npm process stops everything it started`,
      async () => {
        const { npm, url, dataDir, output } = await npmStart();
        const buyer = /Buyer token[^\n]*\n\s*(\S+)/.exec(output())![1]!;
        const order = await placePrintedOrder(url, buyer);
        expect(order.status, order.body).toBe(202);
        const record = recordedChildren(dataDir);
        expect(record.children.map((c) => c.name)).toEqual(
          expect.arrayContaining([expect.stringMatching(/redis/), expect.stringMatching(/offline/)]),
        );
        // Every service on loopback only: fauxqs listened on every interface (its own default).
        const fauxqs = record.children.find((c) => /^fauxqs-\d+$/.test(c.name));
        const listening = execFileSync('ss', ['-Hltn', `sport = :${fauxqs!.name.split('-')[1]}`], {
          encoding: 'utf8',
        });
        const local = listening
          .trim()
          .split('\n')
          .map((line) => line.trim().split(/\s+/)[3]);
        expect(local.length).toBeGreaterThan(0);
        for (const address of local) expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
        const exited = new Promise((resolve) => npm.once('exit', resolve));
        npm.kill(signal); // npm's pid only, as `kill <pid>` does
        await exited;
        const left = () => [{ ...record.owner, name: 'npm start' }, ...record.children].filter(stillRunning);
        await waitUntil(
          `every child of npm start stopped after ${signal}`,
          async () => left().length === 0,
          30_000,
        ).catch((err: Error) => {
          // Name what is still running and how far the stop got: a bare timeout says neither.
          const names = left().map((c) => `${c.name} (pid ${c.pid}, ${processState(c.pid)})`);
          throw new Error(`${err.message}: still running ${names.join(', ')}\n${output().slice(-2_000)}`);
        });
        expect(output()).toContain(`${signal}: stopping everything`);
      },
      READY_TIMEOUT_MS + 60_000,
    );
  }
});
