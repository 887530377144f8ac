// Pins down the audit's confirmation (lib/sale/audit.ts, confirmedRead): drift met between the two
// halves of a transition is read again and gone; drift that stays is reported after a bounded number
// of reads; a clean read is never repeated.
import { describe, expect, it } from 'vitest';
import { confirmedRead, DRIFT_REREADS_MAX } from '../../lib/sale/audit';

/** A reader that answers the given drifts in turn (the last one from then on) and counts its reads. */
function reader(drifts: number[]) {
  let reads = 0;
  return {
    read: async () => ({ drift: drifts[Math.min(reads++, drifts.length - 1)]! }),
    reads: () => reads,
  };
}
const clean = (f: { drift: number }) => f.drift === 0;

describe('confirmedRead', () => {
  it('returns a clean first read without reading again', async () => {
    const r = reader([0]);
    expect(await confirmedRead(r.read, clean, 0)).toEqual({ drift: 0 });
    expect(r.reads()).toBe(1);
  });

  it('reads again past drift that is gone at the next read', async () => {
    const r = reader([2, -1, 0]);
    expect(await confirmedRead(r.read, clean, 0)).toEqual({ drift: 0 });
    expect(r.reads()).toBe(3);
  });

  it('reports drift that every read finds, after a bounded number of reads', async () => {
    const r = reader([5, 4, 3]);
    expect(await confirmedRead(r.read, clean, 0)).toEqual({ drift: 3 });
    expect(r.reads()).toBe(1 + DRIFT_REREADS_MAX);
  });
});
