// Pins down the cleanup of a throwaway DATA_DIR: when the postgres user cannot reach it (a private
// mkdtemp folder, as root), its cluster lives in a fallback folder of the temp dir, which goes too.
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { pgFallbackDir, removeDataDir } from '../../infra/local/services/postgres';

it('removeDataDir removes the data folder and its PostgreSQL fallback folder', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'flash-sale-fallback-test-'));
  const fallback = pgFallbackDir(dataDir);
  expect(fallback).toMatch(/flash-sale-pg-[0-9a-f]{12}$/);
  expect(pgFallbackDir(join(dataDir, '.'))).toBe(fallback); // one folder, one fallback
  mkdirSync(join(fallback, 'data'), { recursive: true });
  removeDataDir(dataDir);
  expect(existsSync(dataDir)).toBe(false);
  expect(existsSync(fallback)).toBe(false);
  removeDataDir(dataDir); // nothing left: no error
});
