-- set_user_not_before: records when all of a user's sessions were ended.
-- KEYS[1] the user's instant key, KEYS[2] the events stream (with events
-- on); ARGV: the instant (ms since the epoch), the user id, until when to
-- keep it (ms since the epoch), then the events' (events.lua). The value
-- names the user, as two users may share an index name. A script so that
-- the write can be durable (WAIT), as the revocations that follow are.
-- Event: epoch.changed for the user.

redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PXAT', ARGV[3])
events_from(2, 4)
emit('epoch.changed', 'u', ARGV[2], 'n', ARGV[1])
events_trim()
return 1
