-- set_not_before: sets a "not before" instant.
-- KEYS[1] the instants' hash, KEYS[2] the events stream of its slot (with
-- events on); ARGV: the field ("all" or "t:<tenant>"), the instant (ms
-- since the epoch), how many tenant fields the hash may hold at most, then
-- the events' (events.lua). 1 when set (and epoch.changed appended), 0 when
-- a new tenant would exceed that bound. A script so that the bound holds
-- under concurrent writes and the write can be durable (WAIT), as a
-- revocation is.

if ARGV[1] ~= 'all' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  local tenants = redis.call('HLEN', KEYS[1]) - redis.call('HEXISTS', KEYS[1], 'all')
  if tenants >= tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
events_from(2, 4)
emit('epoch.changed', 'e', ARGV[1] == 'all' and '*' or string.sub(ARGV[1], 3), 'n', ARGV[2])
events_trim()
return 1
