--[[
close-if-forgotten: close a product whose Redis state has lost writes PostgreSQL records as done
in Redis (a partial rollback that took releases or stock changes, not reservations: the sequence
evidence of close-if-behind.lua cannot see those). Closing removes the `complete` marker, so the
product answers 503 and the rebuild recomputes it from PostgreSQL.

KEYS[1] sale: hash ({p:ID}:sale)
KEYS[2] released: hash ({p:ID}:released)  order id -> "released" | "held" | "retaken"
KEYS[3] adjusted: hash ({p:ID}:adjusted)  adjustment id -> "applied" | "refused"

ARGV[1] generation: the latest rebuild that reopened the product, when the evidence was read (0: none)
ARGV[2] released_count: n, the number of order ids that follow
ARGV[3..] released_then_adjusted: n order ids whose release PostgreSQL stamped after Redis applied
          it, each of which must have its `released` entry; then the adjustment ids PostgreSQL
          records as applied by Redis, each of which must be "applied" in `adjusted` (all since
          the product last reopened)

Returns "closed" | "consistent" | "not_open" (no marker: already closed or lost)
      | "other_generation" (a newer rebuild reopened the product since the evidence was read)
]]
if redis.call('HGET', KEYS[1], 'complete') ~= '1' then return 'not_open' end
local generation = tonumber(redis.call('HGET', KEYS[1], 'generation') or '0')
if generation > tonumber(ARGV[1]) then return 'other_generation' end
-- Older than a rebuild that reopened it: only a restored snapshot runs an older generation.
local forgotten = generation < tonumber(ARGV[1])
local n = tonumber(ARGV[2])
for i = 3, n + 2 do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then forgotten = true break end
end
if not forgotten then
  for i = n + 3, #ARGV do
    if redis.call('HGET', KEYS[3], ARGV[i]) ~= 'applied' then forgotten = true break end
  end
end
if forgotten then
  redis.call('HDEL', KEYS[1], 'complete')
  return 'closed'
end
return 'consistent'
