// npm start's data folder after a kill -9 of npm start itself (real processes: a stand-in owner
// under tsx and its `sleep` child): a second start refuses to share the folder with a live owner,
// and stops what a dead one left running; a pid now used by another process is never signalled.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childrenFile, reclaimDataDir } from '../../infra/local/leftovers';
import { type ChildRecord, processId, stillRunning } from '../../infra/local/procs';

const dataDir = mkdtempSync(join(tmpdir(), 'flash-sale-leftovers-'));
const tsx = join(import.meta.dirname, '../../node_modules/.bin/tsx');
let owner: ChildProcess | undefined;

afterAll(() => {
  owner?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function startOwner(): Promise<ChildProcess> {
  const c = spawn(tsx, [join(import.meta.dirname, '../helpers/leftover-owner.ts'), childrenFile(dataDir)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    c.stdout!.on('data', (d) => String(d).includes('ready') && resolve(c));
    c.on('exit', (code) => reject(new Error(`owner exited ${code}`)));
  });
}

describe('reclaimDataDir', () => {
  it('refuses while the owner runs; after its kill -9 it stops the child it left', async () => {
    owner = await startOwner();
    const record = JSON.parse(readFileSync(childrenFile(dataDir), 'utf8')) as ChildRecord;
    expect(record.children.map((c) => c.name)).toEqual(['sleeper']);
    const sleeper = record.children[0]!;
    // tsx runs the script in a child of its own: the owner recorded is that process.
    await expect(reclaimDataDir(dataDir, () => {})).rejects.toThrow(/another npm start \(pid \d+\) runs/);

    process.kill(record.owner.pid, 'SIGKILL');
    await new Promise((r) => owner!.once('exit', r));
    expect(stillRunning(sleeper), 'kill -9 leaves the child running').toBe(true);

    const said: string[] = [];
    await reclaimDataDir(dataDir, (m) => said.push(m));
    expect(stillRunning(sleeper)).toBe(false);
    expect(said[0]).toMatch(/ended without stopping sleeper \(pid \d+\): stopping them first/);
    await reclaimDataDir(dataDir, (m) => said.push(m));
    expect(said, 'nothing left the second time').toHaveLength(1);
  });

  it('a pid taken by another process since is not the recorded process', () => {
    const me = processId(process.pid)!;
    expect(stillRunning(me)).toBe(true);
    expect(stillRunning({ pid: process.pid, started: (me.started ?? 0) + 1 })).toBe(false);
  });
});
