--[[
cancel-pending: the owner cancels an order that may not have reached PostgreSQL yet.
If the order is still in the outbox, flag it; persistOrders applies the cancel right after it
writes the order (ack.lua reports the flag atomically with clearing the outbox entry, so a flag set
here is never missed). If it already left the outbox, PostgreSQL has it and the caller cancels there.

KEYS[1] outbox: zset ({p:ID}:outbox)
KEYS[2] order: string, the order record ({p:ID}:order:OID)

ARGV[1] order_id
ARGV[2] customer_id: of the caller (only the owner may cancel)

Returns {"flagged", order_json} | {"persisted"} (not in the outbox: use PostgreSQL)
      | {"not_found"} (unknown, or not the caller's)
]]
local record = redis.call('GET', KEYS[2])
if not record then return {'not_found'} end
local order = cjson.decode(record)
if order.customer_id ~= ARGV[2] then return {'not_found'} end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {'persisted'} end
if not order.cancel_pending then
  order.cancel_pending = true
  record = cjson.encode(order)
  redis.call('SET', KEYS[2], record, 'KEEPTTL')
end
return {'flagged', record}
