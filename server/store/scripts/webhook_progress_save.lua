-- webhook_progress_save: writes a webhook endpoint's delivered positions
-- for the streams that changed, if this instance holds its lease
-- (docs/webhooks.md), so that a deliverer that lost it writes nothing.
-- KEYS[1] the lease, KEYS[2] the positions' hash (both in {meta}'s slot);
-- ARGV: the instance's token, then stream, position pairs.
-- 1 if written, 0 if another instance (or none) holds the lease.

if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if #ARGV > 1 then redis.call('HSET', KEYS[2], unpack(ARGV, 2)) end
return 1
