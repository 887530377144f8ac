// The invariant checks run after every write scenario. Pure functions of the figures the harness
// collects, so the logic itself is unit-tested (tests/unit/bench-invariants.test.ts).
//   units accepted = units taken: the 202s the load generator counted, times qty, equal what left
//     `available` in the inventory (stock_total - available);
//   after draining, PostgreSQL holds exactly the accepted orders, and the audit reports ok, drift 0,
//     nothing in flight.
import type { AuditReport } from '../../lib/sale/audit';

/** What GET /api/admin/products/{id}/audit answers (lib/sale/audit.ts), minus the id. */
export type AuditFigures = Omit<AuditReport, 'product_id'>;

export interface WriteFigures {
  /** orders answered 202 as counted by the load generator */
  accepted_orders: number;
  /**
   * orders answered 503 "outcome unknown" (API.md: retry with the same Idempotency-Key): the
   * reservation may or may not have happened, so each may account for units taken; if it did, the
   * outbox re-send still brings the order to PostgreSQL.
   */
  unknown_orders?: number;
  /** units per order (every request of a scenario asks for the same qty) */
  qty: number;
  /** the audit after the scenario, once the queue has drained */
  audit: AuditFigures;
  /** rows PostgreSQL holds for the product after draining */
  pg_orders: number;
}

export interface Check {
  name: string;
  expected: string;
  actual: string;
  ok: boolean;
}

export interface InvariantReport {
  ok: boolean;
  checks: Check[];
}

const check = (name: string, expected: number | boolean, actual: number | boolean): Check => ({
  name,
  expected: String(expected),
  actual: String(actual),
  ok: expected === actual,
});

const within = (name: string, lo: number, hi: number, actual: number): Check => ({
  name,
  expected: lo === hi ? String(lo) : `${lo}..${hi}`,
  actual: String(actual),
  ok: actual >= lo && actual <= hi,
});

export function checkWrite(f: WriteFigures): InvariantReport {
  const accepted_units = f.accepted_orders * f.qty;
  const unknown_units = (f.unknown_orders ?? 0) * f.qty;
  const taken = f.audit.stock_total - f.audit.available;
  const checks = [
    // Exact when no answer was "unknown"; otherwise each 503 may or may not have taken its units.
    within('units accepted = units taken', accepted_units, accepted_units + unknown_units, taken),
    check('PostgreSQL holds exactly the orders that took units', taken, f.pg_orders * f.qty),
    within(
      'every 202 is in PostgreSQL',
      f.accepted_orders,
      f.accepted_orders + (f.unknown_orders ?? 0),
      f.pg_orders,
    ),
    check('nothing left in flight', 0, f.audit.in_flight),
    check('audit drift', 0, f.audit.drift),
    check('audit ok', true, f.audit.ok),
  ];
  return { ok: checks.every((c) => c.ok), checks };
}

/** The row-lock baseline keeps its stock in PostgreSQL: taken = initial - final, rows = 202s. */
export function checkRowLock(f: {
  accepted_orders: number;
  /** requests whose answer the generator did not see (wrk stopping): each may have committed */
  unknown_orders?: number;
  qty: number;
  stock_before: number;
  stock_after: number;
  rows: number;
}): InvariantReport {
  const unknown = f.unknown_orders ?? 0;
  const taken = f.stock_before - f.stock_after;
  const checks = [
    unknown === 0
      ? check('units accepted = units taken', f.accepted_orders * f.qty, taken)
      : within(
          'units accepted = units taken',
          f.accepted_orders * f.qty,
          (f.accepted_orders + unknown) * f.qty,
          taken,
        ),
    check('rows = units taken / qty', taken / f.qty, f.rows),
    check('stock never negative', true, f.stock_after >= 0),
  ];
  return { ok: checks.every((c) => c.ok), checks };
}

export function describe(r: InvariantReport): string {
  if (r.ok) return 'ok';
  return r.checks
    .filter((c) => !c.ok)
    .map((c) => `${c.name}: expected ${c.expected}, got ${c.actual}`)
    .join('; ');
}
