// Option values of the command-line tools (bin/cli.ts, bin/ops.ts, infra/chaos/cli.ts), checked as
// commander parses them: a bad value is commander's one-line error and exit 1 before anything runs,
// never a NaN, a silent default or a negative count passed on.
import { InvalidArgumentError } from 'commander';

/**
 * A commander `argParser` for a whole number in [min, max], in decimal digits only: Number() alone
 * takes '' as 0, '1e3' as 1000 and '0x10' as 16.
 */
export function integer(min = 1, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number ${range(min, max)}`);
    return n;
  };
}

/** A commander `argParser` for a decimal number above zero (rates, durations, factors). */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || !(n > 0)) throw new InvalidArgumentError('expected a number above 0');
  return n;
}

function range(min: number, max: number): string {
  return max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
}
