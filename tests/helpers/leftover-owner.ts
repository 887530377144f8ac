// Plays an `npm start` for tests/unit/leftovers.test.ts: records its children in argv[2], starts one
// long `sleep`, says "ready" and waits to be killed.
import { dirname } from 'node:path';
import { recordChildrenIn, startProc } from '../../infra/local/procs';

const file = process.argv[2]!;
recordChildrenIn(file);
startProc('sleeper', 'sleep', ['300'], { logDir: dirname(file) });
process.stdout.write('ready\n');
setInterval(() => {}, 60_000);
