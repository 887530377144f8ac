-- Accepted orders PostgreSQL refused to store (a value a constraint or the encoding rejects). They
-- fail alone, are kept here for the operator, and their units go back on sale: they never sit in
-- the DLQ as an accepted order that never becomes a row.
CREATE TABLE quarantined_orders (
  order_id        uuid        PRIMARY KEY,
  product_id      bigint      NOT NULL,  -- no foreign key: the product may be what was wrong
  qty             bigint      NOT NULL,
  message         text        NOT NULL,  -- the order as accepted, JSON with control characters escaped
  reason          text        NOT NULL,  -- PostgreSQL's refusal
  quarantined_at  timestamptz NOT NULL DEFAULT now()
);
