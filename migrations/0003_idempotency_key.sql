-- Orders remember the Idempotency-Key they were created under, so a Redis rebuild can restore
-- replays (a client retrying after the wipe gets its original order, not a second one).
ALTER TABLE orders ADD COLUMN idempotency_key text NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255);
