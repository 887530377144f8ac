--[[
rebuild-stage: one bounded chunk of a rebuild's state, written by the rebuild lock's holder only,
before rebuild.lua reopens the product. A product's history can hold hundreds of thousands of
expired orders (each a `released` entry) and as many customers: written by one script they would
stall every other command of the shard for as long as the write takes. In chunks, other products'
reserves run in between; this product stays closed (no `complete` marker) until rebuild.lua.

KEYS[1] rebuild_lock: string ({p:ID}:rebuild-lock)
KEYS[2] target: hash ({p:ID}:released; {p:ID}:customers-staged, which rebuild.lua renames over
        {p:ID}:customers; or {p:ID}:adjusted, the stock adjustments' fates)

ARGV[1] token: the lock token (a rebuilder whose lock expired writes nothing)
ARGV[2] reset: "1" deletes the target first (a staged hash an abandoned rebuild left behind)
ARGV[3..] field_value_pairs: written with HSET

Returns 1 when written, 0 when the lock is not this token's (nothing written).
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then redis.call('UNLINK', KEYS[2]) end
if #ARGV > 2 then redis.call('HSET', KEYS[2], unpack(ARGV, 3)) end
return 1
