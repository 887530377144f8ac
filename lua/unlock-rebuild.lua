--[[
unlock-rebuild: a rebuilder gives up (time fence not passed, queue not drained, DLQ not empty) and
frees its lock at once, so the next run may try without waiting for the lock to expire. The product
stays closed: it has no `complete` marker until a rebuild finishes.

KEYS[1] rebuild_lock: string ({p:ID}:rebuild-lock)

ARGV[1] token: the giving-up rebuilder's token (another holder's lock is never freed)

Returns 1 when the lock was freed, 0 when it was not this token's.
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
