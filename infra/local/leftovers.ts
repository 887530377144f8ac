// `npm start` owns its data folder. A second start in the same folder while the first runs would
// put a second Redis on the same AOF and be refused by PostgreSQL's lock only after Redis had
// started; a start after the first was killed with kill -9 (no time to stop its children) would
// find the old Redis, PostgreSQL, queue emulator and serverless-offline still running, the old
// postmaster holding the folder. So the start records its children (procs.ts recordChildrenIn),
// and the next one refuses to share the folder with a live owner and stops what a dead one left.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ChildRecord, type ProcessId, stillRunning } from './procs';

export const CHILDREN_FILE = 'children.json';
/** How long the leftovers get to shut down cleanly (Redis fsyncs, PostgreSQL checkpoints). */
export const LEFTOVER_GRACE_MS = 15_000;

export function childrenFile(dataDir: string): string {
  return join(dataDir, CHILDREN_FILE);
}

export async function reclaimDataDir(dataDir: string, say: (m: string) => void): Promise<void> {
  const file = childrenFile(dataDir);
  if (!existsSync(file)) return;
  const record = JSON.parse(readFileSync(file, 'utf8')) as ChildRecord;
  if (stillRunning(record.owner))
    throw new Error(
      `another npm start (pid ${record.owner.pid}) runs with the data folder ${dataDir}: stop it first, or give this one its own DATA_DIR and PORT`,
    );
  const left = record.children.filter(stillRunning);
  if (left.length === 0) return;
  say(
    `the previous start (pid ${record.owner.pid}) ended without stopping ${left.map((c) => `${c.name} (pid ${c.pid})`).join(', ')}: stopping them first`,
  );
  // SIGINT: PostgreSQL's fast shutdown (SIGTERM would wait for its clients), a clean stop for Redis
  // and the Node processes alike.
  for (const c of left) process.kill(c.pid, 'SIGINT');
  await untilGone(left, LEFTOVER_GRACE_MS);
  for (const c of left.filter(stillRunning)) {
    say(`${c.name} (pid ${c.pid}) did not stop within ${LEFTOVER_GRACE_MS / 1000} s: kill -9`);
    process.kill(c.pid, 'SIGKILL');
  }
  await untilGone(left, 2000);
}

async function untilGone(procs: ProcessId[], timeout_ms: number): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (procs.some(stillRunning) && Date.now() < deadline) await sleep(100);
}
