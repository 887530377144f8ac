-- Exact rebuilds after Redis lost a product's data (issue 11). A rebuild counts the orders its
-- PostgreSQL snapshot sees; an order accepted before the loss that reached PostgreSQL only after
-- that snapshot (a send still in flight, a message the queue counters missed) is a straggler, and
-- its units are taken in Redis afterwards ("reconciled"), exactly once.

-- The transaction that inserted the row: with a rebuild's snapshot it says, exactly, whether that
-- rebuild counted the order. NULL for rows older than this migration (always counted).
ALTER TABLE orders ADD COLUMN inserted_xid xid8 NULL;
ALTER TABLE orders ALTER COLUMN inserted_xid SET DEFAULT pg_current_xact_id();
CREATE INDEX orders_product_persisted ON orders (product_id, persisted_at);

-- One row per rebuild: the snapshot it counted from, and when Redis reopened the product under
-- this rebuild's generation (NULL: the rebuild did not finish; its generation never went live).
CREATE TABLE inventory_rebuilds (
  id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  product_id   bigint      NOT NULL REFERENCES products (id),
  snapshot     pg_snapshot NOT NULL,
  counted_at   timestamptz NOT NULL DEFAULT now(),
  reopened_at  timestamptz NULL
);
CREATE INDEX inventory_rebuilds_live ON inventory_rebuilds (product_id, id DESC) WHERE reopened_at IS NOT NULL;

-- Stragglers whose units were taken in Redis after a rebuild, with what became of them:
-- 'taken' (units were free) or 'oversold' (sold again meanwhile: the order was closed, see order_events).
CREATE TABLE rebuild_reconciled (
  rebuild_id  bigint      NOT NULL REFERENCES inventory_rebuilds (id),
  order_id    uuid        NOT NULL REFERENCES orders (order_id),
  outcome     text        NOT NULL CHECK (outcome IN ('taken', 'oversold')),
  at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (rebuild_id, order_id)
);
