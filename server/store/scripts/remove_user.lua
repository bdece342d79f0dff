-- remove_user: one batch of a revoke-all.
-- KEYS[1] user index, KEYS[2] the events stream (with events on); ARGV:
-- session key prefix, bucket, member to keep (or ''), user id, walk, cursor
-- score ('' from the start), cursor member, reason, the sessions revoked by
-- the batches before, then the events' (events.lua).
-- {deleted} at the end of the index, else {deleted, next score, next
-- member}: the user's live sessions deleted among the next `walk` entries
-- after the cursor. Events: session.revoked for each, and with the last
-- batch user.sessions_revoked with the count of all batches (none when no
-- session was revoked).

events_from(2, 10)
local index, bucket, uid = KEYS[1], ARGV[2], ARGV[4]
local walk = tonumber(ARGV[5])
local entries = window(index, ARGV[6], ARGV[7], walk)
local n = 0
for i = 1, #entries, 2 do
  local m = entries[i]
  if m ~= ARGV[3] then
    local key = session_key(ARGV[1], bucket, m)
    local v = key and redis.call('GET', key)
    if not v then
      redis.call('ZREM', index, m)
    elseif owned(v, uid) then
      redis.call('DEL', key)
      redis.call('ZREM', index, m)
      n = n + 1
      emit_session('session.revoked', string.sub(key, -24), uid, ARGV[8])
    end
  end
end
if #entries < 2 * walk then
  local total = n + tonumber(ARGV[9])
  if total > 0 then emit('user.sessions_revoked', 'u', uid, 'k', tostring(total)) end
  events_trim()
  return {n}
end
events_trim()
return {n, entries[#entries], entries[#entries - 1]}
