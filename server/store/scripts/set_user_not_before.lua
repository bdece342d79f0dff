-- set_user_not_before: records when all of a user's sessions were ended.
-- KEYS[1] the user's instant key; ARGV: the instant (ms since the epoch),
-- the user id, and until when to keep it (ms since the epoch). The value
-- names the user, as two users may share an index name. A script so that
-- the write can be durable (WAIT), as the revocations that follow are.

redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PXAT', ARGV[3])
return 1
