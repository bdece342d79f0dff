-- remove: one session.
-- KEYS[1] session key, KEYS[2] user index, KEYS[3] the events stream (with
-- events on); ARGV: member, reason, then the events' (events.lua). The
-- record that was stored (or nil); its entry leaves the index with it.
-- Events, when there was a session: session.reuse_detected (for the reason
-- reuse_detected), then session.revoked with the reason; the user is the
-- record's.

local v = redis.call('GETDEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
events_from(3, 3)
if v and ev_key then
  local _, uid = header(v)
  local id = string.sub(KEYS[1], -24)
  if ARGV[2] == 'reuse_detected' then emit_session('session.reuse_detected', id, uid) end
  emit_session('session.revoked', id, uid, ARGV[2])
  events_trim()
end
return v
