-- webhook_lease_release: lets a webhook endpoint's lease go, if this
-- instance holds it (docs/webhooks.md).
-- KEYS[1] <prefix>{meta}:wh:<endpoint>:lease; ARGV: the instance's token.
-- 1 if it was released, 0 if another instance (or none) held it.

if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('DEL', KEYS[1])
    return 1
end
return 0
