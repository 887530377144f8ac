-- Product settings carry a version, bumped by every PATCH in the same statement that writes them.
-- Redis applies a settings write only if it is newer than what it holds, so concurrent PATCHes
-- cannot revert each other there, and the release run re-applies any newer version a crash left
-- behind between the PostgreSQL commit and the Redis write.
ALTER TABLE products ADD COLUMN settings_version bigint NOT NULL DEFAULT 0;

-- Set once the product's sale state was first loaded into Redis. A product without it is still
-- being created (its creator loads it next), so a rebuild leaves it alone unless the creator
-- evidently died (created more than a minute ago).
ALTER TABLE products ADD COLUMN loaded_at timestamptz NULL;
UPDATE products SET loaded_at = created_at;
