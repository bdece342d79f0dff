-- create: a new session, under the per-user limit.
-- KEYS[1] session key, KEYS[2] user index, KEYS[3] the events stream (with
-- events on); ARGV: record, deadline, member, limit, reject (1/0), session
-- key prefix, bucket, user id, walk, then the events' (events.lua).
-- Returns {0, evicted member, evicted record, ...} or {1} when the limit
-- rejects. Events: session.expired for the index entries pruned,
-- session.revoked (reason evicted) for each session evicted, then
-- session.created.
--
-- The limit is the Redis copy of the eviction rule, session::admit_ordered
-- (server/session/rules.hpp), which the memory store calls;
-- tests/store/eviction_rule_test.cpp runs the same cases through both. The
-- index holds the user's sessions in the rule's order (deadline, then id),
-- so the victims are its first entries: the create looks at no more of them
-- than it must remove (at most `walk`, should the limit have been lowered
-- far below a user's count). An entry whose session is gone is dropped and
-- counts no more; one of another user sharing the index is left alone and,
-- as it stays in the count, the user's limit is then met early rather than
-- exceeded (the memory store, whose index is the user's alone, has no such
-- case).

events_from(3, 10)
local index, bucket, uid = KEYS[2], ARGV[7], ARGV[8]
emit_expired(prune(index), bucket, uid)
local limit = tonumber(ARGV[4])
local out = {0}
local excess = 0
if limit > 0 then excess = math.min(redis.call('ZCARD', index) - limit + 1, tonumber(ARGV[9])) end
if excess > 0 then
  local victims = {}
  for _, m in ipairs(redis.call('ZRANGE', index, 0, excess - 1)) do
    local key = session_key(ARGV[6], bucket, m)
    local v = key and redis.call('GET', key)
    if not v then
      redis.call('ZREM', index, m)
    elseif owned(v, uid) then
      victims[#victims + 1] = {m, key, v}
    end
  end
  if #victims > 0 and ARGV[5] == '1' then
    events_trim()
    return {1}
  end
  for _, s in ipairs(victims) do
    redis.call('DEL', s[2])
    redis.call('ZREM', index, s[1])
    out[#out + 1] = s[1]
    out[#out + 1] = s[3]
    emit_session('session.revoked', string.sub(s[2], -24), uid, 'evicted')
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
redis.call('ZADD', index, ARGV[2], ARGV[3])
local top = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', index, top[2])
emit_session('session.created', string.sub(KEYS[1], -24), uid)
events_trim()
return out
