--[[
close-if-behind: close a product whose Redis state is proven older than what PostgreSQL has seen
(a partial rollback: a failover or AOF everysec lost the last acknowledged writes). Closing removes
the `complete` marker, so the product answers 503 and the rebuild recomputes it.

KEYS[1] sale: hash ({p:ID}:sale)

ARGV[1] generation: the one the evidence is about
ARGV[2] max_seq: highest reservation sequence PostgreSQL holds for that generation
ARGV[3] duplicated: "1" when PostgreSQL holds two orders with the same sequence in that generation

Returns "closed" | "consistent" | "not_open" (no marker: already closed or lost)
      | "other_generation" (Redis runs a newer generation: the evidence is about an older one)
]]
if redis.call('HGET', KEYS[1], 'complete') ~= '1' then return 'not_open' end
local generation = tonumber(redis.call('HGET', KEYS[1], 'generation') or '0')
-- Older than an order PostgreSQL holds: Redis went back to before a rebuild (a snapshot restored,
-- a replica promoted that never saw it). Generations only grow, so this is a rollback.
if generation < tonumber(ARGV[1]) then
  redis.call('HDEL', KEYS[1], 'complete')
  return 'closed'
end
if generation > tonumber(ARGV[1]) then return 'other_generation' end
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if ARGV[3] == '1' or seq < tonumber(ARGV[2]) then
  redis.call('HDEL', KEYS[1], 'complete')
  return 'closed'
end
return 'consistent'
