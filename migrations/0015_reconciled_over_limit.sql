-- A straggler reconciled after its customer bought again (the rebuild never saw it) can put the
-- customer over the product's per-customer limit: it is closed like an oversold one, recorded as such.
ALTER TABLE rebuild_reconciled DROP CONSTRAINT rebuild_reconciled_outcome_check;
ALTER TABLE rebuild_reconciled ADD CONSTRAINT rebuild_reconciled_outcome_check
  CHECK (outcome IN ('taken', 'oversold', 'over_limit'));
