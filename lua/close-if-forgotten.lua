--[[
close-if-forgotten: close a product whose Redis state has lost writes PostgreSQL records as done
in Redis (a partial rollback that took releases, late-payment retakes, straggler reconciles or
stock changes, not reservations: the sequence evidence of close-if-behind.lua cannot see those).
Closing removes the `complete` marker, so the product answers 503 and the rebuild recomputes it
from PostgreSQL.

KEYS[1] sale: hash ({p:ID}:sale)
KEYS[2] released: hash ({p:ID}:released)  order id -> "released" | "held" | "retaken"
KEYS[3] adjusted: hash ({p:ID}:adjusted)  adjustment id -> "applied" | "refused"
KEYS[4] reconciled: hash ({p:ID}:reconciled)  order id -> generation it was reconciled under

ARGV[1] generation: the latest rebuild that reopened the product, when the evidence was read (0: none)
ARGV[2] released_count: n, the released order ids that follow first
ARGV[3] retaken_count: m, the retaken order ids that follow them
ARGV[4] reconciled_count: r, the reconciled order ids that follow those
ARGV[5..] released_retaken_reconciled_adjusted: all recorded since the product last reopened, in four runs:
          n order ids whose release PostgreSQL stamped after Redis applied it: each must have its
            `released` entry;
          m order ids a late payment took the units of again (expired -> paid): none may say
            "released" (that is the state before the retake, which would sell its units again; no
            entry at all is fine: pruned, or a rollback to before the release, when the order
            still held its units);
          r straggler order ids PostgreSQL records as reconciled under this generation: each must
            have its `reconciled` entry (without it the straggler's units are free again, and its
            Idempotency-Key record, given back with it, is gone);
          then the adjustment ids PostgreSQL records as applied by Redis: each must be "applied"

Returns "closed" | "consistent" | "not_open" (no marker: already closed or lost)
      | "other_generation" (a newer rebuild reopened the product since the evidence was read)
]]
if redis.call('HGET', KEYS[1], 'complete') ~= '1' then return 'not_open' end
local generation = tonumber(redis.call('HGET', KEYS[1], 'generation') or '0')
if generation > tonumber(ARGV[1]) then return 'other_generation' end
-- Older than a rebuild that reopened it: only a restored snapshot runs an older generation.
local forgotten = generation < tonumber(ARGV[1])
local n, m, r = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local first_retaken = 5 + n
local first_reconciled = first_retaken + m
local first_adjusted = first_reconciled + r
for i = 5, first_retaken - 1 do
  if forgotten then break end
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then forgotten = true end
end
for i = first_retaken, first_reconciled - 1 do
  if forgotten then break end
  if redis.call('HGET', KEYS[2], ARGV[i]) == 'released' then forgotten = true end
end
for i = first_reconciled, first_adjusted - 1 do
  if forgotten then break end
  if redis.call('HEXISTS', KEYS[4], ARGV[i]) == 0 then forgotten = true end
end
for i = first_adjusted, #ARGV do
  if forgotten then break end
  if redis.call('HGET', KEYS[3], ARGV[i]) ~= 'applied' then forgotten = true end
end
if forgotten then
  redis.call('HDEL', KEYS[1], 'complete')
  return 'closed'
end
return 'consistent'
