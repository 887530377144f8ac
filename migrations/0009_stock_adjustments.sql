-- Stock changes (PATCH stock_delta) are recorded here first, in the same transaction that adds the
-- delta to products.stock_total; Redis applies each one at most once by its id. A crash between the
-- two writes leaves a pending row the release run finishes (or reverts, when Redis refuses it), and
-- a rebuild counts the pending rows it saw and marks them decided, so no delta is lost or doubled.
CREATE TABLE stock_adjustments (
  id          bigserial   PRIMARY KEY,
  product_id  bigint      NOT NULL REFERENCES products (id),
  delta       integer     NOT NULL CHECK (delta <> 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  applied_at  timestamptz NULL,
  refused_at  timestamptz NULL,
  CHECK (applied_at IS NULL OR refused_at IS NULL)
);
CREATE INDEX stock_adjustments_pending ON stock_adjustments (created_at)
  WHERE applied_at IS NULL AND refused_at IS NULL;
CREATE INDEX stock_adjustments_product ON stock_adjustments (product_id, created_at);

GRANT SELECT, INSERT, UPDATE ON stock_adjustments TO flashsale_app;
GRANT USAGE, SELECT ON SEQUENCE stock_adjustments_id_seq TO flashsale_app;
