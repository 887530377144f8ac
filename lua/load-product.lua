--[[
load-product: give a product sale state in Redis, or update its settings.
Creating sets `available` to the stock and writes `complete` = 1: the marker that this product's
state is whole (only a full load, here or in rebuild.lua, writes it; its absence means "rebuild me").
Updating never touches the counters (available, in_flight, acked_units, acked_orders) nor the marker, so it is safe while a
sale runs. Stock changes go through their own script, never through this one.

KEYS[1] sale: hash ({p:ID}:sale)
(The global product list lives in another slot; the adapter adds to it after this call, idempotently.)

ARGV[1] product_id
ARGV[2] mode: "create" | "update"
ARGV[3..] settings: field, value pairs (sku, name, price_cents, currency, stock_total,
          max_per_order, per_customer_limit (-1 none), ttl_s, starts_ms (-1 none), ends_ms (-1 none), paused)

          settings_version comes with them: an update applies only if it is newer than the one held

Returns "created", "updated", "exists" (create on an existing product: nothing changed),
"missing" (update of a product without sale state: nothing changed) or "stale" (update older
than, or as old as, the settings held: nothing changed).
]]
local exists = redis.call('EXISTS', KEYS[1]) == 1
local mode = ARGV[2]
if mode == 'create' and exists then return 'exists' end
if mode == 'update' and not exists then return 'missing' end
if mode == 'update' then
  local incoming = -1
  for i = 3, #ARGV - 1, 2 do
    if ARGV[i] == 'settings_version' then incoming = tonumber(ARGV[i + 1]) end
  end
  local held = tonumber(redis.call('HGET', KEYS[1], 'settings_version') or '-1')
  if incoming <= held then return 'stale' end
end
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
if mode == 'create' then
  local stock = redis.call('HGET', KEYS[1], 'stock_total')
  redis.call('HSET', KEYS[1], 'available', stock, 'in_flight', 0, 'acked_units', 0, 'acked_orders', 0,
    'generation', 0, 'seq', 0, 'complete', 1)
end
return mode == 'create' and 'created' or 'updated'
