--[[
reserve: take units for one order, atomically and idempotently on the order id.
Every check and every write of a reservation happens here, in one call, so no request can
observe or cause a half-done reservation (DESIGN.md, "The reservation records its own outbox").

KEYS[1] sale: hash ({p:ID}:sale), stock and sale settings, see lib/inventory/keys.ts
KEYS[2] customers: hash ({p:ID}:customers), units held per customer
KEYS[3] order: string ({p:ID}:order:OID), JSON, the order as accepted
KEYS[4] outbox: zset ({p:ID}:outbox), order ids accepted but not yet in PostgreSQL, scored by ms
KEYS[5] idempotency: string ({p:ID}:idem:...), "fingerprint order_id"; ignored when has_idempotency_key is "0"

ARGV[1] order_id: caller-generated; a resent command finds its own order and replays it
ARGV[2] customer_id
ARGV[3] qty: integer >= 1, validated by the caller
ARGV[4] fingerprint: what makes two requests "the same body"
ARGV[5] idempotency_ttl_s: how long the idempotency key is kept
ARGV[6] has_idempotency_key: "1" when an idempotency key was given, else "0"
ARGV[7] product_id
ARGV[8] idempotency_key: the key itself ("" when none), recorded with the order
ARGV[9] sent_ms: when the caller sent this command, unix ms by its own clock
ARGV[10] resend_window_ms: a command older than this is refused (its order's tombstone may be gone)

Returns a flat array whose first element names the outcome:
  {"reserved", order_json}              units taken, order recorded, outbox entry added
  {"replay", order_json}                same order id or same idempotency key: nothing changed
  {"stale"}                             sent more than the resend window ago: nothing changed
  {"idempotency_key_reused"}            the key was used with another body
  {"product_not_found"}
  {"rebuilding"}                        the product's state is not complete (lost, or being rebuilt)
  {"qty_above_limit", max_per_order}
  {"sale_paused"} | {"sale_not_started", starts_ms} | {"sale_ended"}
  {"customer_limit_reached", remaining}
  {"insufficient_stock", available}
]]
local sale_key, customers_key, order_key, outbox_key, idem_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local order_id, customer_id = ARGV[1], ARGV[2]
local qty = tonumber(ARGV[3])
local fingerprint, idem_ttl_s, has_idem = ARGV[4], tonumber(ARGV[5]), ARGV[6] == '1'
local product_id, idempotency_key = tonumber(ARGV[7]), ARGV[8]
local sent_ms, resend_window_ms = tonumber(ARGV[9]), tonumber(ARGV[10])

-- A resent command (ioredis replays unanswered writes after a reconnect) finds its own order.
local existing = redis.call('GET', order_key)
if existing then return {'replay', existing} end

-- A completed order keeps its record (the tombstone above) only for the resend window. A command
-- resent later than that could find no tombstone and sell a second time, so it is refused; the
-- caller gave up on it long ago (answered 503: retry with the same Idempotency-Key).
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now_ms - sent_ms > resend_window_ms then return {'stale'} end

if has_idem then
  local seen = redis.call('GET', idem_key)
  if seen then
    local sep = string.find(seen, ' ', 1, true)
    if string.sub(seen, 1, sep - 1) ~= fingerprint then return {'idempotency_key_reused'} end
    local original = redis.call('GET', string.sub(seen, sep + 1))
    if original then return {'replay', original} end
    -- The key outlived its order record: the original response is gone, so refuse rather than
    -- sell again under a key the client believes already bought something.
    return {'idempotency_key_reused'}
  end
end

-- The sale hash read by field name, into locals named as the fields (HMGET's replies come in the
-- order asked; tests/unit/lua-headers.test.ts checks each local is named as its field). Measured:
-- as cheap as reading by index, where building a table by name per call cost ~3 us more.
local available, max_per_order, per_customer_limit, ttl_s, starts_ms, ends_ms, paused, price_cents,
  currency, complete, generation = unpack(redis.call('HMGET', sale_key, 'available', 'max_per_order',
  'per_customer_limit', 'ttl_s', 'starts_ms', 'ends_ms', 'paused', 'price_cents', 'currency', 'complete',
  'generation'))
-- Only a full load writes `complete`: anything less (a hash left by a rebuild that stopped part-way)
-- is never sold from.
if complete ~= '1' then
  if redis.call('EXISTS', sale_key) == 0 then return {'product_not_found'} end
  return {'rebuilding'}
end
available, max_per_order = tonumber(available), tonumber(max_per_order)
per_customer_limit, ttl_s = tonumber(per_customer_limit), tonumber(ttl_s)
starts_ms, ends_ms = tonumber(starts_ms), tonumber(ends_ms)

if qty > max_per_order then return {'qty_above_limit', max_per_order} end

-- The sale window is judged by Redis's clock (now_ms, above) so every Lambda container agrees.
-- Same precedence as the product view's `sale.state`: ended, then paused, then not started.
if ends_ms >= 0 and now_ms >= ends_ms then return {'sale_ended'} end
if paused == '1' then return {'sale_paused'} end
if starts_ms >= 0 and now_ms < starts_ms then return {'sale_not_started', starts_ms} end

local held = tonumber(redis.call('HGET', customers_key, customer_id) or '0')
if per_customer_limit >= 0 and held + qty > per_customer_limit then
  return {'customer_limit_reached', math.max(per_customer_limit - held, 0)}
end
if available < qty then return {'insufficient_stock', available} end

redis.call('HINCRBY', sale_key, 'available', -qty)
redis.call('HINCRBY', sale_key, 'in_flight', qty)
redis.call('HINCRBY', customers_key, customer_id, qty)
-- A number per reservation within this generation: persisted with the order, it lets the release
-- run prove that Redis lost acknowledged writes (a sequence PostgreSQL has seen twice, or above ours).
local seq = redis.call('HINCRBY', sale_key, 'seq', 1)

local order_json = cjson.encode({
  order_id = order_id,
  product_id = product_id,
  customer_id = customer_id,
  qty = qty,
  unit_price_cents = tonumber(price_cents),
  currency = currency,
  created_ms = now_ms,
  expires_ms = now_ms + ttl_s * 1000,
  idempotency_key = has_idem and idempotency_key or nil,
  generation = tonumber(generation or '0'),
  seq = seq,
})
redis.call('SET', order_key, order_json)
redis.call('ZADD', outbox_key, now_ms, order_id)
if has_idem then
  redis.call('SET', idem_key, fingerprint .. ' ' .. order_key, 'EX', idem_ttl_s)
end
return {'reserved', order_json}
