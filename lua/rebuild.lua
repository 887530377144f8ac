--[[
rebuild: reopen one product with its state recomputed from PostgreSQL, in one step.
Runs only while the caller holds the product's rebuild lock and the product has no `complete`
marker (so no reservation, release or retake can run in between); ends the rebuild by writing the
marker, the one fact that says this product's state is whole. The bulky parts (the customers, the
`released` entries) were written before, in bounded chunks (rebuild-stage.lua): this script's work
does not grow with the product's history, so it never stalls the shard.

KEYS[1] sale: hash ({p:ID}:sale)
KEYS[2] customers: hash ({p:ID}:customers)
KEYS[3] customers_staged: hash ({p:ID}:customers-staged)  customer id -> units held, as the
        snapshot counts them (written by rebuild-stage.lua; absent when no customer holds any)
KEYS[4] outbox: zset ({p:ID}:outbox)
KEYS[5] rebuild_lock: string ({p:ID}:rebuild-lock)
KEYS[6] reconciled: hash ({p:ID}:reconciled)

ARGV[1] token: the lock token (only the lock's holder may finish)
ARGV[2] available: (stock_total - reserved - paid, as PostgreSQL proves it)
ARGV[3] generation: the rebuild's id in PostgreSQL (stragglers are reconciled against it)
ARGV[4] stock_total: as the same snapshot read it
(the reservation sequence restarts at 0 under the new generation)

Returns {"ok", now_ms} (now_ms: Redis's clock when the product reopened; every order accepted from
        here on is newer) | {"not_owner"} (the lock expired or belongs to another rebuilder: nothing
        written) | {"outbox_not_empty"} (orders were accepted here meanwhile: not the authority)
]]
if redis.call('GET', KEYS[5]) ~= ARGV[1] then return {'not_owner'} end
if redis.call('ZCARD', KEYS[4]) > 0 then return {'outbox_not_empty'} end
-- UNLINK: a big sale's customers hash is freed off the main thread, not while the shard waits.
redis.call('UNLINK', KEYS[2], KEYS[6])
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('RENAME', KEYS[3], KEYS[2]) end
redis.call('HDEL', KEYS[1], 'closed_ms')
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- The outbox is empty (checked above): nothing is in flight, nothing of the new generation acked.
-- reopened_ms stays with the generation: if the rebuilder dies before PostgreSQL records the
-- reopening, the next release run records it from here (lib/sale/rebuild.ts, recordLateReopens).
redis.call('HSET', KEYS[1], 'available', ARGV[2], 'stock_total', ARGV[4], 'in_flight', 0,
  'acked_units', 0, 'acked_orders', 0, 'generation', ARGV[3], 'seq', 0, 'complete', 1,
  'reopened_ms', now_ms)
redis.call('DEL', KEYS[5])
return {'ok', now_ms}
