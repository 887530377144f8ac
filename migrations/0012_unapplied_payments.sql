-- The operator's list of successful payments that were not applied (money taken, nothing given for
-- it: a second charge of a paid order, a success after a final status, another amount). Partial, so
-- it holds only those rows, however many events the sales record.
CREATE INDEX payment_events_unapplied_successes ON payment_events (received_at)
  WHERE type = 'payment.succeeded' AND status = 'ignored';
-- The payment that paid each order, looked up for every event listed (one row per paid order; the
-- list's NOT EXISTS would otherwise scan every event for each one).
CREATE INDEX payment_events_applied_successes ON payment_events (order_id, payment_id)
  WHERE type = 'payment.succeeded' AND status = 'applied';
