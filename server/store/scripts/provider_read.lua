-- provider_read: the sessions opened under an identity provider's session.
-- KEYS[1] the provider session's index; ARGV: walk. Drops up to `walk`
-- entries whose session has passed its absolute expiry (by Redis' clock),
-- then returns up to `walk` public ids.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local walk = tonumber(ARGV[1])
local gone = redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, walk)
if #gone > 0 then redis.call('ZREM', KEYS[1], unpack(gone)) end
return redis.call('ZRANGE', KEYS[1], 0, walk - 1)
