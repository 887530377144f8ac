// Every bench scenario, in the order a full run takes them (`npm run bench -- --list`). Cold start
// first: it models a fresh container on a host that runs nothing else of ours, and right after the
// load scenarios the bench's own stack is still at work on the same two cores (a full run of
// 2026-12-05 00:48 UTC measured createOrder's init + first invocation at 121 ms when it ran last,
// against 113 ms alone minutes before; the run records the load average it started at). The load
// scenarios interleave their rounds, so their ratios do not depend on what ran before them.
import type { Scenario } from '../scenario';
import { ab } from './ab';
import { coldStart } from './cold-start';
import { drain } from './drain';
import { handler } from './handler';
import { http } from './http';
import { redis } from './redis';
import { sdk } from './sdk';

export const SCENARIOS: Scenario[] = [coldStart, http, ab, handler, sdk, drain, redis];
