-- index_key: the user index key's fingerprint, set once and then compared.
-- KEYS[1] the fingerprint key; ARGV: fingerprint, overwrite (1/0). The
-- fingerprint Redis holds now: ARGV[1] if there was none.

local held = redis.call('GET', KEYS[1])
if held and ARGV[2] ~= '1' then return held end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
