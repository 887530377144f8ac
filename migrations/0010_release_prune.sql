-- The release run prunes Redis's `released` hash entry of an order that is final and released
-- (lib/sale/release-run.ts, pruneReleased); pruned_at records that it was done, so each run takes
-- the next batch instead of the same oldest rows again.
ALTER TABLE stock_releases ADD COLUMN pruned_at timestamptz NULL;
CREATE INDEX stock_releases_prunable ON stock_releases (released_at)
  WHERE released_at IS NOT NULL AND pruned_at IS NULL;
