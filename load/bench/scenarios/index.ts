// Every bench scenario, in the order a full run takes them (`npm run bench -- --list`).
import type { Scenario } from '../scenario';
import { ab } from './ab';
import { coldStart } from './cold-start';
import { drain } from './drain';
import { handler } from './handler';
import { http } from './http';
import { redis } from './redis';
import { sdk } from './sdk';

export const SCENARIOS: Scenario[] = [http, ab, handler, sdk, drain, redis, coldStart];
