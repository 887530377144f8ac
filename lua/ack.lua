--[[
ack: the order is durably in PostgreSQL; take it out of the outbox, once.
Idempotent: a second ack (duplicate delivery) finds no outbox entry and changes nothing.

KEYS[1] sale: hash ({p:ID}:sale)
KEYS[2] outbox: zset ({p:ID}:outbox)
KEYS[3] order: string, the order record ({p:ID}:order:OID)

ARGV[1] order_id
ARGV[2] qty: units of the order (units that stop being "in flight")
ARGV[3] record_ttl_s: seconds to keep the record of an order placed under an Idempotency-Key (it answers replays)
ARGV[4] tombstone_ttl_s: seconds to keep the record of any other order: a tombstone for resent reserve commands only
        (a record flagged cancel_pending keeps record_ttl_s: a redelivered message must still find the
        flag if applying the cancel failed after this ack)
ARGV[5] sequenced: "1" when the order is in PostgreSQL's orders table with its generation and sequence, "0"
        otherwise (refused and quarantined, or a message without them): only the first are
        counted in acked_units / acked_orders

Counters kept in the sale hash, with the outbox, in this one step:
  in_flight     units in the outbox (reserve.lua adds, this script takes off)
  acked_units   units, and acked_orders orders, taken out of the outbox under this generation after
  acked_orders  reaching PostgreSQL. The dashboard subtracts them from what PostgreSQL holds of this
                generation to find the orders it holds that are still in the outbox (counted once)
                without reading the outbox. Written only where load-product.lua or rebuild.lua
                started them: a hash from before they existed keeps none (its readers fall back).

Returns {removed, cancel_pending}:
  removed         1 when this call took the entry out of the outbox, 0 when it was already gone
  cancel_pending  1 when the owner asked to cancel before the order reached PostgreSQL
]]
local removed = redis.call('ZREM', KEYS[2], ARGV[1])
if removed == 1 then
  redis.call('HINCRBY', KEYS[1], 'in_flight', -tonumber(ARGV[2]))
  if ARGV[5] == '1' and redis.call('HEXISTS', KEYS[1], 'acked_orders') == 1 then
    redis.call('HINCRBY', KEYS[1], 'acked_units', tonumber(ARGV[2]))
    redis.call('HINCRBY', KEYS[1], 'acked_orders', 1)
  end
end
local cancel_pending = 0
local record = redis.call('GET', KEYS[3])
if record then
  local order = cjson.decode(record)
  if order.cancel_pending then cancel_pending = 1 end
  local key = order.idempotency_key
  local keyed = key ~= nil and key ~= cjson.null and key ~= ''
  redis.call('EXPIRE', KEYS[3], tonumber((keyed or cancel_pending == 1) and ARGV[3] or ARGV[4]))
end
return {removed, cancel_pending}
