// `npm run invoke -- <function> [event.json]`: `sls invoke local` against the running local stack.
// Reads the stack's environment from DATA_DIR/stack-env.json (written by `npm start`) and puts a
// fresh buyer token where the sample event says REPLACE_WITH_A_BUYER_TOKEN.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resetConfig } from '../../lib/config';
import { mintToken } from '../../lib/http/auth';
import { ROOT } from './stack';

const [fn, eventPath] = process.argv.slice(2);
if (!fn) {
  console.error(
    'usage: npm run invoke -- <function> [event.json]   (e.g. createOrder tests/events/createOrder.json)',
  );
  process.exit(2);
}
if (eventPath && !existsSync(eventPath)) {
  console.error(`no event file ${eventPath} (the sample events are in tests/events/)`);
  process.exit(2);
}
const envFile = join(process.env['DATA_DIR'] ?? '.data', 'stack-env.json');
if (!existsSync(envFile)) {
  console.error(`no ${envFile}: start the local stack first (npm start), or set DATA_DIR`);
  process.exit(2);
}
const stackEnv = JSON.parse(readFileSync(envFile, 'utf8')) as Record<string, string>;
Object.assign(process.env, stackEnv, { LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'INFO' });
resetConfig();

const args = [join(ROOT, 'node_modules/osls/bin/serverless.js'), 'invoke', 'local', '-f', fn];
if (eventPath) {
  const raw = readFileSync(eventPath, 'utf8');
  const token = await mintToken({ customer_id: 'invoke-local' });
  const file = join(mkdtempSync(join(tmpdir(), 'invoke-')), 'event.json');
  writeFileSync(file, raw.replaceAll('REPLACE_WITH_A_BUYER_TOKEN', token));
  args.push('-p', file);
}
const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit', env: process.env });
process.exit(r.status ?? 1);
