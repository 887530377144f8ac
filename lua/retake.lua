--[[
retake: a payment succeeded for an order that had expired; take its units again if still free.
Idempotent on the order id: the `released` set says whether the order's units are out.

KEYS[1] sale hash       ({p:ID}:sale)
KEYS[2] customers hash  ({p:ID}:customers)
KEYS[3] released set    ({p:ID}:released)

ARGV[1] order id
ARGV[2] qty
ARGV[3] customer id

Returns:
  "held"          the order's units were never given back in Redis (or were already retaken)
  "retaken"       units were free and are now held for this order again
  "insufficient"  not enough units available: nothing changed
]]
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 0 then return 'held' end
local qty = tonumber(ARGV[2])
local available = tonumber(redis.call('HGET', KEYS[1], 'available') or '0')
if available < qty then return 'insufficient' end
redis.call('HINCRBY', KEYS[1], 'available', -qty)
redis.call('HINCRBY', KEYS[2], ARGV[3], qty)
redis.call('SREM', KEYS[3], ARGV[1])
return 'retaken'
