// The fault suite runs by groups (one file each): a fault missing from every group would silently
// never run, one in two groups would run twice.
import { expect, it } from 'vitest';
import { FAULT_GROUPS, FAULTS } from '../../infra/chaos/faults';

it('every fault but the baseline is in exactly one group', () => {
  const grouped = Object.values(FAULT_GROUPS).flat();
  expect(new Set(grouped).size).toBe(grouped.length);
  expect([...grouped].sort()).toEqual(
    Object.keys(FAULTS)
      .filter((f) => f !== 'none')
      .sort(),
  );
});
