--[[
undo-retake: a late payment's retake (retake.lua) wrote "held" or "retaken" for an order, but the
unit of work that ran it never committed: PostgreSQL still says the order holds no units (expired,
or cancelled since). Give its units back and mark its release applied, so Redis agrees with
PostgreSQL again. The caller holds the order's lock and has read its status under it, so no retake
of this order runs meanwhile; a later late payment finds "released" and judges it afresh.

KEYS[1] sale: hash ({p:ID}:sale)
KEYS[2] customers: hash ({p:ID}:customers)
KEYS[3] released: hash ({p:ID}:released)  order id -> "released" | "held" | "retaken"
KEYS[4] retaking: zset ({p:ID}:retaking)  retakes not confirmed yet (retake.lua)

ARGV[1] order_id
ARGV[2] qty
ARGV[3] customer_id

Returns:
  "undone"       the units were given back ("held": the expiry's release had not run, it is done
                 now; "retaken": taken again, given back again) and the entry is gone
  "nothing"      the order's state holds nothing to undo (a rebuild rewrote it): the entry is gone
  "unavailable"  the product's state is not complete (lost, or being rebuilt): nothing changed,
                 the entry stays for a later run (a rebuild judges from PostgreSQL meanwhile)
]]
if redis.call('HGET', KEYS[1], 'complete') ~= '1' then return 'unavailable' end
local state = redis.call('HGET', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
if state ~= 'held' and state ~= 'retaken' then return 'nothing' end
local qty = tonumber(ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], 'released')
redis.call('HINCRBY', KEYS[1], 'available', qty)
local held = redis.call('HINCRBY', KEYS[2], ARGV[3], -qty)
if held <= 0 then redis.call('HDEL', KEYS[2], ARGV[3]) end
return 'undone'
