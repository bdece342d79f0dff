-- webhook_progress_load: a webhook endpoint's delivered positions
-- (docs/webhooks.md), recording its start (Redis' clock, ms) the first time.
-- KEYS[1] <prefix>{meta}:wh:<endpoint>:pos, a hash: "start" = ms, and
-- "<stream>" = "<ms>-<seq>", the last event delivered in that stream.
-- Reply: the hash's fields and values, as HGETALL.

local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
    if all[i] == 'start' then return all end
end
local now = redis.call('TIME')
local start = tostring(tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
redis.call('HSET', KEYS[1], 'start', start)
all[#all + 1] = 'start'
all[#all + 1] = start
return all
