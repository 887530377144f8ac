-- A stock adjustment whose PATCH answered 503 (Redis failed mid-call, so its outcome was unknown)
-- is withdrawn: the release run refuses it in Redis unless Redis had already applied it, instead of
-- applying it later behind the admin's back (their retry would then be a second change).
-- Expand-only: a release that does not know the column still applies such an adjustment as before.
ALTER TABLE stock_adjustments ADD COLUMN withdrawn_at timestamptz NULL;
