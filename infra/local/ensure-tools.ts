// Run before the test suite: makes sure Redis and PostgreSQL binaries exist (installing Debian's
// packages when running as root), so a bare machine with only Node and npm can run `npm test`.
import { rmSync } from 'node:fs';
import { ensureTools } from './tools';

// A fresh `npm test` starts without the JSON reports of an earlier run (infra/local/test-summary.ts).
rmSync('test-reports', { recursive: true, force: true });

try {
  const t = ensureTools((m) => console.log(`[ensure-tools] ${m}`));
  console.log(`[ensure-tools] redis-server ${t.redisServer}, postgresql ${t.pgBin}`);
} catch (err) {
  console.error(`[ensure-tools] ${(err as Error).message}`);
  process.exit(1);
}
