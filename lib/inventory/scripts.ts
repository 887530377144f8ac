// Loads lua/*.lua once per container and registers each as an ioredis command (EVALSHA, with a
// transparent EVAL fallback when the server has not seen the script yet).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster, Redis } from 'ioredis';

export const SCRIPTS = {
  reserve: 5,
  ack: 3,
  release: 3,
  loadProduct: 1,
  retake: 3,
  cancelPending: 2,
  adjustStock: 2,
  rebuild: 6,
  reconcile: 3,
  unlockRebuild: 1,
  closeIfBehind: 1,
} as const satisfies Record<string, number>;

type ScriptName = keyof typeof SCRIPTS;
const FILES: Record<ScriptName, string> = {
  reserve: 'reserve.lua',
  ack: 'ack.lua',
  release: 'release.lua',
  loadProduct: 'load-product.lua',
  retake: 'retake.lua',
  cancelPending: 'cancel-pending.lua',
  adjustStock: 'adjust-stock.lua',
  rebuild: 'rebuild.lua',
  reconcile: 'reconcile.lua',
  unlockRebuild: 'unlock-rebuild.lua',
  closeIfBehind: 'close-if-behind.lua',
};

function luaDir(): string {
  // Source tree (tsx, vitest), the bundled Lambda (lua/ is packaged at the task root), offline (cwd).
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, '../../lua'),
    join(process.env['LAMBDA_TASK_ROOT'] ?? process.cwd(), 'lua'),
    join(process.cwd(), 'lua'),
  ];
  const found = candidates.find((d) => existsSync(join(d, 'reserve.lua')));
  if (!found) throw new Error(`lua scripts not found in ${candidates.join(', ')}`);
  return found;
}

export type ScriptClient = (Redis | Cluster) & {
  [K in ScriptName]: (...args: (string | number)[]) => Promise<unknown>;
};

export function registerScripts(client: Redis | Cluster): ScriptClient {
  const dir = luaDir();
  for (const [name, numberOfKeys] of Object.entries(SCRIPTS)) {
    const lua = readFileSync(join(dir, FILES[name as ScriptName]), 'utf8');
    client.defineCommand(name, { numberOfKeys, lua });
  }
  return client as ScriptClient;
}
