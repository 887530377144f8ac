-- The transaction that wrote each order event: with a rebuild's snapshot it says, exactly, whether
-- that rebuild counted the change. A late payment's retake (expired -> paid) whose transaction was
-- still open when a rebuild counted is evidence against the rebuilt state: it started before the
-- count but committed after it (its `at`, the transaction's start, cannot tell). NULL for rows older
-- than this migration (counted by any later rebuild).
ALTER TABLE order_events ADD COLUMN inserted_xid xid8 NULL;
ALTER TABLE order_events ALTER COLUMN inserted_xid SET DEFAULT pg_current_xact_id();
