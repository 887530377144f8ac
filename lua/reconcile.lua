--[[
reconcile: take the units of a straggler, an order accepted before Redis lost this product's data
that reached PostgreSQL only after the rebuild had counted (so the rebuilt state lacks it).
Idempotent on the order id; applied only to the generation (rebuild) that did not count it.

KEYS[1] sale: hash ({p:ID}:sale)
KEYS[2] customers: hash ({p:ID}:customers)
KEYS[3] reconciled: hash ({p:ID}:reconciled)  order id -> generation it was reconciled under

ARGV[1] order_id
ARGV[2] qty
ARGV[3] customer_id
ARGV[4] generation: the id of the rebuild that did not count the order

Returns {"taken", available, over_limit} units taken now; `available` below 0 means they had been
                         sold again; over_limit 1: the customer now holds more than the product's
                         per-customer limit (they bought again after the rebuild, which never saw
                         this order)
      | {"already", available, over_limit} taken before (a retry): nothing changed
      | {"unavailable"}  the product's state is not complete (lost or being rebuilt): a new rebuild
                         will count the order itself
      | {"stale"}        Redis holds another generation: judge the order again against it
]]
if redis.call('HGET', KEYS[1], 'complete') ~= '1' then return {'unavailable'} end
if redis.call('HGET', KEYS[1], 'generation') ~= ARGV[4] then return {'stale'} end
local function over_limit()
  local limit = tonumber(redis.call('HGET', KEYS[1], 'per_customer_limit') or '-1')
  local held = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0')
  if limit >= 0 and held > limit then return 1 end
  return 0
end
if redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[4]) == 0 then
  return {'already', tonumber(redis.call('HGET', KEYS[1], 'available')), over_limit()}
end
-- Taken even when short or over the limit: the caller then closes the order, and its release
-- gives back exactly what was taken here.
local qty = tonumber(ARGV[2])
local available = redis.call('HINCRBY', KEYS[1], 'available', -qty)
redis.call('HINCRBY', KEYS[2], ARGV[3], qty)
return {'taken', available, over_limit()}
