-- webhook_lease_renew: extends a webhook endpoint's deliverer lease, or
-- takes it when it is free (docs/webhooks.md).
-- KEYS[1] <prefix>{meta}:wh:<endpoint>:lease; ARGV: the instance's token,
-- the lease's lifetime (ms), and "take" (1: take it if nobody holds it).
-- 1 if `token` holds the lease now, 0 if another instance does.

local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or (not holder and ARGV[3] == '1') then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
end
return 0
