-- Late payments that took an expired order's units again (expired -> paid): each release run checks
-- the most recent ones against Redis's `released` hash (a partial rollback that forgot the retake
-- would sell those units twice). Partial, so it holds only those rows, however many events the
-- sales record.
CREATE INDEX order_events_retaken ON order_events (at)
  WHERE from_status = 'expired' AND to_status = 'paid';
