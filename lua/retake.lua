--[[
retake: a payment succeeded for an order that had expired; make sure it holds its units.
Idempotent on the order id (a webhook retried after a failed commit must not take units twice).
Judged by PostgreSQL's record of the release as well as Redis's: the `released` hash can be lost
with Redis's data (or pruned), but stock_releases.released_at says the units were given back.

KEYS[1] sale: hash ({p:ID}:sale)
KEYS[2] customers: hash ({p:ID}:customers)
KEYS[3] released: hash ({p:ID}:released)  order id -> "released" | "held" | "retaken"
KEYS[4] retaking: zset ({p:ID}:retaking)  order id -> Redis time (ms) of a retake that wrote here
        ("held" or "retaken") whose PostgreSQL commit nobody has confirmed yet: the caller runs
        this inside its unit of work, and if that never commits (a crash, a failed commit, no retry
        from the provider), the release run finds the entry and gives the units back (undo-retake.lua)

ARGV[1] order_id
ARGV[2] qty
ARGV[3] customer_id
ARGV[4] released_in_pg: "1" when PostgreSQL records this order's release as applied in Redis (released_at set)

Returns:
  "held"          the units never left this order (the expiry's Redis release had not run yet: it
                  is consumed now, so it can never run), or they were already re-taken
  "retaken"       the units had been given back, were still free, and are held for this order again
  "insufficient"  the units had been given back and are gone: nothing changed
  "over_limit"    the units are free, but taking them would put the customer over the product's
                  per-customer limit (they bought again after the expiry): nothing changed
  "unavailable"   the product's state is not complete (lost, or being rebuilt): nothing changed,
                  the caller answers 503 and the payment provider retries
  "forgotten"     Redis lost this order's applied release (a partial rollback): the product is
                  closed for a rebuild, and the caller answers as for "unavailable"
]]
if redis.call('HGET', KEYS[1], 'complete') ~= '1' then return 'unavailable' end
local state = redis.call('HGET', KEYS[3], ARGV[1])
if not state and ARGV[4] == '1' then
  -- PostgreSQL stamps a release only after Redis applied it, a rebuild writes "released" for every
  -- expired order, and an expired order's entry is never pruned: so Redis lost the release (a
  -- rollback) and still counts these units as held. Taking them again would take them twice;
  -- judged on the rebuilt state instead.
  redis.call('HDEL', KEYS[1], 'complete')
  return 'forgotten'
end
local function unconfirmed()
  local t = redis.call('TIME')
  redis.call('ZADD', KEYS[4], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), ARGV[1])
end
if not state then
  redis.call('HSET', KEYS[3], ARGV[1], 'held')
  unconfirmed()
  return 'held'
end
if state ~= 'released' then
  unconfirmed()
  return 'held'
end
local qty = tonumber(ARGV[2])
local available = tonumber(redis.call('HGET', KEYS[1], 'available') or '0')
if available < qty then return 'insufficient' end
local limit = tonumber(redis.call('HGET', KEYS[1], 'per_customer_limit') or '-1')
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0')
if limit >= 0 and held + qty > limit then return 'over_limit' end
redis.call('HINCRBY', KEYS[1], 'available', -qty)
redis.call('HINCRBY', KEYS[2], ARGV[3], qty)
redis.call('HSET', KEYS[3], ARGV[1], 'retaken')
unconfirmed()
return 'retaken'
