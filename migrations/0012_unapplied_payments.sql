-- The operator's list of successful payments that were not applied (money taken, nothing given for
-- it: a second charge of a paid order, a success after a final status, another amount). Partial, so
-- it holds only those rows, however many events the sales record.
CREATE INDEX payment_events_unapplied_successes ON payment_events (received_at)
  WHERE type = 'payment.succeeded' AND status = 'ignored';
