// What a bench scenario is: a name to select it by (`npm run bench -- --only NAME`), one line on what
// it measures, and a run function that adds its section to the results. The driver (load/bench.ts)
// runs the selected ones in order; the report (load/bench/output.ts) shows whatever sections exist
// and marks the targets whose scenario did not run as not measured.
import type { AbResult } from './ab';
import type { ColdStartResult } from './cold-start';
import type { BenchContext } from './context';
import type { DrainRun } from './drain';
import type { HandlerLevelResult } from './handler-level';
import type { ScenarioResult } from './http';
import type { InvariantReport } from './invariants';

export interface Scenario {
  name: string;
  measures: string;
  run(ctx: BenchContext, out: Results): Promise<void>;
}

/** createOrder's CPU profile at 1 in flight: the flame graph (written beside the report) and its top packages. */
export interface FlameResult {
  seconds: number;
  invocations: number;
  sampled_ms: number;
  /** self time by package, largest first, as a share of the sampled time */
  by_package: { name: string; share: number }[];
  svg: string;
}

export interface SdkRun {
  variant: 'sdk' | 'hand-signed';
  in_flight: number;
  sends: number;
  seconds: number;
  per_s: number;
  cpu_ms_per_send: number;
}

export interface RedisCeilingRun {
  case: string;
  products: number;
  clients: number;
  calls: number;
  seconds: number;
  per_s: number;
  redis_cpu_ms_per_call: number;
  appendfsync: string;
}

export interface Results {
  http?: ScenarioResult[];
  ab?: AbResult & { invariant: InvariantReport };
  handler?: HandlerLevelResult & { invariant: InvariantReport; flame?: FlameResult };
  sdk?: { runs: SdkRun[]; body_bytes: number; client: string };
  drain?: {
    orders: number;
    backlog_reserve_s: number;
    backlog_send_s: number;
    persist: DrainRun;
    raw: { messages: number; seconds: number; per_s: number; cpu_ms_per_1k?: Record<string, number> };
    invariant: InvariantReport;
  };
  redis?: { runs: RedisCeilingRun[] };
  cold?: ColdStartResult;
}
