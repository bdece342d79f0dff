-- replace: a compare-and-set of a session's record.
-- KEYS[1] session key, KEYS[2] user index, KEYS[3] the events stream (with
-- events on, for a rotation); ARGV: expected version, new record, deadline,
-- member, event ('session.rotated', or '' for a touch, which is no event),
-- user id, then the events' (events.lua). 1 if written, 0 if the stored
-- record has another version (every write bumps it) or is gone: then
-- nothing is written, the event neither.

local stored = redis.call('GET', KEYS[1])
if not stored or header(stored) ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
local top = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], top[2])
if ARGV[5] ~= '' then
  events_from(3, 7)
  emit_session(ARGV[5], string.sub(KEYS[1], -24), ARGV[6])
  events_trim()
end
return 1
