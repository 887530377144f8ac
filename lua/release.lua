--[[
release: give an order's units back, exactly once per order id.
Called only by the winner of a conditional transition in PostgreSQL (or the release run finishing a
release committed there); the `released` hash makes a repeated call harmless, and a late payment
that kept or re-took the units (retake.lua) makes any later release of that order a no-op.

KEYS[1] sale: hash ({p:ID}:sale)
KEYS[2] customers: hash ({p:ID}:customers)
KEYS[3] released: hash ({p:ID}:released)  order id -> "released" | "held" | "retaken"

ARGV[1] order_id
ARGV[2] qty
ARGV[3] customer_id

Returns 1 when units were given back now, 0 when this order's release was already consumed,
-1 when the product's state is not complete (lost or being rebuilt): nothing is written, so a
release during a data loss never creates partial state. The caller leaves its PostgreSQL marker
(stock_releases.released_at) unstamped; the rebuild counts the order as free, or the release run
applies it once the state is whole again.
]]
if redis.call('HGET', KEYS[1], 'complete') ~= '1' then return -1 end
if redis.call('HSETNX', KEYS[3], ARGV[1], 'released') == 0 then return 0 end
local qty = tonumber(ARGV[2])
redis.call('HINCRBY', KEYS[1], 'available', qty)
local held = redis.call('HINCRBY', KEYS[2], ARGV[3], -qty)
if held <= 0 then redis.call('HDEL', KEYS[2], ARGV[3]) end
return 1
