-- Partial rollback detection (issue 11): every reservation carries the sequence number Redis gave
-- it within the product's generation. Two persisted orders with the same (generation, sequence), or
-- a persisted sequence above what Redis now holds, prove Redis lost acknowledged writes (a failover
-- or AOF everysec losing only the last ones). NULL for orders older than this migration.
ALTER TABLE orders ADD COLUMN inventory_generation bigint NULL;
ALTER TABLE orders ADD COLUMN inventory_seq bigint NULL;
CREATE INDEX orders_inventory_seq ON orders (product_id, inventory_generation, inventory_seq)
  WHERE inventory_seq IS NOT NULL;
