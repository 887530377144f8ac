--[[
claim-replay: give a straggler's Idempotency-Key its record back, unless the key already answers
another order. A straggler (accepted before Redis lost the product, persisted after the rebuild
counted) is in no replay the rebuild wrote: without this, a retry under its key is a second order.
If a retry already made that second order, the key answers it (the client saw it last) and the
straggler is the one to close.

KEYS[1] sale: hash ({p:ID}:sale)
KEYS[2] idempotency: string ({p:ID}:idem:...), "fingerprint order key", as reserve.lua writes it
KEYS[3] order: string ({p:ID}:order:ID), the straggler's record a replay returns

ARGV[1] replay: the key's value for this order ("fingerprint order key")
ARGV[2] idempotency_ttl_s: what is left of the key's lifetime
ARGV[3] order_json: the straggler's record
ARGV[4] order_ttl_s: the record's lifetime (it outlives the key)
ARGV[5] take_over: "1" to claim the key even from another order (the caller judged the straggler
        the one to keep: it was paid, the other was not), else "0"

Returns {"claimed"}  the key answers this order (now, or already: a retry of this call)
      | {"other", order_key}  the key answers another order (its record's key): this one is a
                   second order under it; nothing changed
      | {"unavailable"} the product's state is not complete (lost or being rebuilt): nothing
                   changed; a new rebuild restores the key from PostgreSQL itself
]]
if redis.call('HGET', KEYS[1], 'complete') ~= '1' then return {'unavailable'} end
local seen = redis.call('GET', KEYS[2])
if seen and seen ~= ARGV[1] and ARGV[5] ~= '1' then
  return {'other', string.sub(seen, string.find(seen, ' ', 1, true) + 1)}
end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4])
return {'claimed'}
