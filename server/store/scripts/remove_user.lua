
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
