// Fault injection under load, every group on one stack: Redis losing data (wiped, rolled back) and
// rebuilt from PostgreSQL, then processes and connections down (Redis, the queue, PostgreSQL, every
// function) and duplicate delivery. One group or fault alone: `npx vitest run --project faults -t 'redis-wipe'`.
import { faultSuite } from './fault-suite';

faultSuite(['redis-loss', 'processes']);
