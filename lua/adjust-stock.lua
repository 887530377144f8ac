--[[
adjust-stock: add or remove units of stock atomically; never takes `available` below 0.

KEYS[1] sale hash ({p:ID}:sale)

ARGV[1] stock delta (integer, may be negative)

Returns {"ok", stock_total, available} | {"negative", available}
      | {"missing"} (no complete state: lost, or being rebuilt; nothing changed)
]]
if redis.call('HGET', KEYS[1], 'complete') ~= '1' then return {'missing'} end
local delta = tonumber(ARGV[1])
local available = tonumber(redis.call('HGET', KEYS[1], 'available'))
if available + delta < 0 then return {'negative', available} end
local total = redis.call('HINCRBY', KEYS[1], 'stock_total', delta)
available = redis.call('HINCRBY', KEYS[1], 'available', delta)
return {'ok', total, available}
