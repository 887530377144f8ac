-- A customer's cancel of an order accepted but not yet in PostgreSQL (POST /api/orders/{id}/cancel
-- answered 202, cancel_pending). Recorded here, under the order id's advisory lock that
-- persistOrders' insert also takes, so it outlives Redis losing the order's record; applied once the
-- order is persisted (persistOrders right after its commit, the release run for one a crash left)
-- and then stamped, never deleted. order_id is not a foreign key: the order is not a row yet (as
-- payment_events). Expand-only: a release without this table never reads it.
CREATE TABLE IF NOT EXISTS order_cancel_requests (
  order_id      uuid        PRIMARY KEY,
  customer_id   text        NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 128),
  requested_at  timestamptz NOT NULL DEFAULT now(),
  applied_at    timestamptz NULL,
  reason        text        NULL,  -- what applying it did (the transition's reason, or why not)
  order_status  text        NULL   -- the order's status after it was applied
);
CREATE INDEX IF NOT EXISTS order_cancel_requests_pending ON order_cancel_requests (requested_at)
  WHERE applied_at IS NULL;

GRANT SELECT, INSERT, UPDATE ON order_cancel_requests TO flashsale_app;
