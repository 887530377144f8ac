--[[
stage-replay: one order's Idempotency-Key replay (the key and the order's record), written by the
rebuild lock's holder only, while the product is still closed (rebuild.lua reopens it afterwards).
A rebuilder whose lock expired mid-rebuild, and which another rebuilder has since replaced (and
maybe reopened the product), must not write its older snapshot over what the product now holds:
an order record a cancel has flagged since, a key a later order took.

KEYS[1] rebuild_lock: string ({p:ID}:rebuild-lock)
KEYS[2] idempotency: string ({p:ID}:idem:...), "fingerprint order key", as reserve.lua writes it
KEYS[3] order: string ({p:ID}:order:ID), the order's record a replay returns

ARGV[1] token: the lock token (a rebuilder whose lock expired writes nothing)
ARGV[2] replay: the key's value for this order ("fingerprint order key")
ARGV[3] idempotency_ttl_s: what is left of the key's lifetime
ARGV[4] order_json: the order's record
ARGV[5] order_ttl_s: the record's lifetime (it outlives the key)

Returns 1 when written, 0 when the lock is not this token's (nothing written).
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[5])
return 1
