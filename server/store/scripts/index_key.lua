
local held = redis.call('GET', KEYS[1])
if held and ARGV[2] ~= '1' then return held end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
