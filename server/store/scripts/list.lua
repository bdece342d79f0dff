-- list: one page of a user's sessions.
-- KEYS[1] user index, KEYS[2] the events stream (with events on); ARGV:
-- session key prefix, bucket, user id, limit, walk, cursor score ('' from
-- the start), cursor member, then the events' (events.lua). {next score,
-- next member, member, record, ...}: up to `limit` of the user's live
-- sessions among the next `walk` index entries after the cursor. The next
-- cursor is the last entry examined, or '' '' at the end of the index.
-- Entries whose session is gone are dropped on the way; those pruned as
-- expired are reported (session.expired).

events_from(2, 8)
local index = KEYS[1]
emit_expired(prune(KEYS[1]), ARGV[2], ARGV[3])
events_trim()
local walk, limit = tonumber(ARGV[5]), tonumber(ARGV[4])
local entries = window(index, ARGV[6], ARGV[7], walk)
local out, found, last = {'', ''}, 0, 0
for i = 1, #entries, 2 do
  if found == limit then break end
  last = i
  local m = entries[i]
  local key = session_key(ARGV[1], ARGV[2], m)
  local v = key and redis.call('GET', key)
  if not v then
    redis.call('ZREM', index, m)
  elseif owned(v, ARGV[3]) then
    found = found + 1
    out[#out + 1] = m
    out[#out + 1] = v
  end
end
if last > 0 and (last + 1 < #entries or #entries == 2 * walk) then
  out[1], out[2] = entries[last + 1], entries[last]
end
return out
