-- provider_add: a session opened under an identity provider's session
-- (OIDC back-channel logout), written before the session itself.
-- KEYS[1] the provider session's index ("<prefix>{<bucket>}:o:<name>", a
-- sorted set of public session ids scored by each session's absolute
-- expiry, ms); ARGV: public id, expiry. The index lives as long as its
-- latest entry.

redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], top[2])
return 1
