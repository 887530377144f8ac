--[[
adjust-stock: apply one recorded stock adjustment atomically, at most once; never takes
`available` below 0. The first decision on an adjustment id (applied or refused) is final, so a
retry (the release run re-applying a PATCH that crashed) never applies it twice or changes its fate.
A withdrawal (the PATCH's Redis call failed and it answered 503: the change must not happen later)
refuses an adjustment not decided yet, and reports the fate of one already decided.

KEYS[1] sale: hash ({p:ID}:sale)
KEYS[2] adjusted: hash ({p:ID}:adjusted): adjustment id -> applied | refused

ARGV[1] delta: stock delta (integer, may be negative)
ARGV[2] adjustment_id: PostgreSQL's stock_adjustments.id
ARGV[3] mode: apply | withdraw

Returns {"ok", stock_total, available} (applied now)
      | {"already", stock_total, available} | {"negative", available} (refused, now or earlier)
      | {"missing"} (no complete state: lost, or being rebuilt; nothing changed or recorded)
]]
if redis.call('HGET', KEYS[1], 'complete') ~= '1' then return {'missing'} end
local available = tonumber(redis.call('HGET', KEYS[1], 'available'))
local seen = redis.call('HGET', KEYS[2], ARGV[2])
if seen == 'applied' then
  return {'already', tonumber(redis.call('HGET', KEYS[1], 'stock_total')), available}
end
if seen == 'refused' then return {'negative', available} end
if ARGV[3] == 'withdraw' then
  redis.call('HSET', KEYS[2], ARGV[2], 'refused')
  return {'negative', available}
end
local delta = tonumber(ARGV[1])
if available + delta < 0 then
  redis.call('HSET', KEYS[2], ARGV[2], 'refused')
  return {'negative', available}
end
redis.call('HSET', KEYS[2], ARGV[2], 'applied')
local total = redis.call('HINCRBY', KEYS[1], 'stock_total', delta)
available = redis.call('HINCRBY', KEYS[1], 'available', delta)
return {'ok', total, available}
