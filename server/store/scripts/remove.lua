-- remove: one session.
-- KEYS[1] session key, KEYS[2] user index; ARGV: member. The record that
-- was stored (or nil); its entry leaves the index with it.

local v = redis.call('GETDEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return v
