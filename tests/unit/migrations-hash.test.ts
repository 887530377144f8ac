// The migrate function tells a deploy from a rollback by the custom resource's `Migrations` hash,
// which infra/aws/migrations-hash.cjs computes at packaging: the function's own computation must
// give the same value for the same files, or every deploy would look like a rollback (run nothing).
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { migrationsHash } from '../../lib/orders/migrate';

const packagingHash = createRequire(import.meta.url)('../../infra/aws/migrations-hash.cjs') as () => string;

describe('migrationsHash', () => {
  it('is the hash the packaged template carries', () => {
    expect(migrationsHash()).toMatch(/^[0-9a-f]{64}$/);
    expect(migrationsHash()).toBe(packagingHash());
  });
});
