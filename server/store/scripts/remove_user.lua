-- remove_user: one batch of a revoke-all.
-- KEYS[1] user index; ARGV: session key prefix, bucket, member to keep (or
-- ''), user id, walk, cursor score ('' from the start), cursor member.
-- {deleted} at the end of the index, else {deleted, next score, next
-- member}: the user's live sessions deleted among the next `walk` entries
-- after the cursor.

local index = KEYS[1]
local walk = tonumber(ARGV[5])
local entries = window(index, ARGV[6], ARGV[7], walk)
local n = 0
for i = 1, #entries, 2 do
  local m = entries[i]
  if m ~= ARGV[3] then
    local key = session_key(ARGV[1], ARGV[2], m)
    local v = key and redis.call('GET', key)
    if not v then
      redis.call('ZREM', index, m)
    elseif owned(v, ARGV[4]) then
      redis.call('DEL', key)
      redis.call('ZREM', index, m)
      n = n + 1
    end
  end
end
if #entries < 2 * walk then return {n} end
return {n, entries[#entries], entries[#entries - 1]}
