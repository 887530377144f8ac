-- A PATCH with stock_delta may carry an Idempotency-Key: its adjustment is recorded with the key
-- and the request as parsed (canonical JSON: keys sorted, times as UTC instants), so a retry of the
-- same request applies nothing again and another request under the same key is refused. One live
-- adjustment per product and key: a refused one (it changed nothing) leaves the index, so the same
-- request may be handled again. Keys are honoured for 24 hours (lib/orders/products.ts clears an
-- older one when its key comes back). Expand-only: a release that does not know the columns writes
-- adjustments without a key, as before. The app role's grants on the table cover the new columns.
ALTER TABLE stock_adjustments
  ADD COLUMN idempotency_key text NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  ADD COLUMN idempotency_request text NULL,
  ADD CHECK ((idempotency_key IS NULL) = (idempotency_request IS NULL));
CREATE UNIQUE INDEX stock_adjustments_idempotency_key ON stock_adjustments (product_id, idempotency_key)
  WHERE refused_at IS NULL;
