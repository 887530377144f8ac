--[[
release: give orders' units back, exactly once per order id, for a batch of orders of one product.
Called only by the winners of conditional transitions in PostgreSQL (or the release run finishing
releases committed there); the `released` hash makes a repeated call harmless, and a late payment
that kept or re-took the units (retake.lua) makes any later release of that order a no-op.

KEYS[1] sale: hash ({p:ID}:sale)
KEYS[2] customers: hash ({p:ID}:customers)
KEYS[3] released: hash ({p:ID}:released)  order id -> "released" | "held" | "retaken"

ARGV[1..] orders: one triple per order: order id, qty, customer id (ARGV[1..3], ARGV[4..6], ...)

Returns one result per order, in order: 1 when its units were given back now, 0 when its release
was already consumed (by an earlier call, or by the same id earlier in this batch). Returns -1 for
the whole batch when the product's state is not complete (lost or being rebuilt): nothing is
written, so a release during a data loss never creates partial state. The caller leaves the
PostgreSQL markers (stock_releases.released_at) unstamped; the rebuild counts the orders as free,
or the release run applies them once the state is whole again.
]]
if redis.call('HGET', KEYS[1], 'complete') ~= '1' then return -1 end
local out = {}
for i = 1, #ARGV, 3 do
  local result = 0
  if redis.call('HSETNX', KEYS[3], ARGV[i], 'released') == 1 then
    local qty = tonumber(ARGV[i + 1])
    redis.call('HINCRBY', KEYS[1], 'available', qty)
    local held = redis.call('HINCRBY', KEYS[2], ARGV[i + 2], -qty)
    if held <= 0 then redis.call('HDEL', KEYS[2], ARGV[i + 2]) end
    result = 1
  end
  out[#out + 1] = result
end
return out
