-- The prelude of the scripts that append session events (redis_store.cpp
-- puts it before each, after prelude.lua where there is one). An event is
-- appended in the same script as the change it reports, so Redis applies
-- both or neither: no change without its event, no event without its change.
--
-- With events on, a script is given its stream as the KEYS entry after its
-- own ("<prefix>{<bucket>}:ev", the slot of its other keys) and, after its
-- own ARGV: this instance's name, the caller's, the stream's length bound
-- and the oldest id to keep ('' to leave the age alone this time). Without
-- them (events off) emit does nothing.
--
-- An entry's fields have one-letter names: t type, s the session's public
-- id, u user id, i instance, c caller, r reason (session.revoked), e tenant
-- ('*' for everyone) and n the instant (epoch.changed), k a count
-- (user.sessions_revoked). Its time is its id's milliseconds (Redis' clock).
-- Never a token, a secret or a digest.

-- The stream's key, this instance's name, the caller's, the length bound
-- and the oldest id to keep; nil key: events off. Locals, not a table:
-- this runs with every write.
local ev_key, ev_i, ev_c, ev_max, ev_minid, ev_wrote
local function events_from(k, a)
  if KEYS[k] and ARGV[a + 3] then
    ev_key, ev_i, ev_c, ev_max, ev_minid = KEYS[k], ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  end
end
-- Appends an event of a session (session.*): always the same six fields,
-- empty where the event has no value, so that Redis keeps the field names
-- once per node of the stream instead of in each entry, and no table is
-- built. The caller's name goes with every event but session.expired,
-- which nobody asked for.
local function emit_session(t, s, u, r)
  if not ev_key then return end
  redis.call('XADD', ev_key, 'MAXLEN', '~', ev_max, '*', 't', t, 's', s, 'u', u, 'i', ev_i,
             'c', t == 'session.expired' and '' or ev_c, 'r', r or '')
  ev_wrote = true
end
-- Appends another event (user.*, epoch.*) with the field pairs given
-- (those whose value is '' or nil left out).
local function emit(t, ...)
  if not ev_key then return end
  local f = {'t', t, 'i', ev_i}
  if ev_c ~= '' then
    f[#f + 1] = 'c'
    f[#f + 1] = ev_c
  end
  local extra = {...}
  for j = 1, #extra, 2 do
    local v = extra[j + 1]
    if v and v ~= '' then
      f[#f + 1] = extra[j]
      f[#f + 1] = v
    end
  end
  redis.call('XADD', ev_key, 'MAXLEN', '~', ev_max, '*', unpack(f))
  ev_wrote = true
end
-- The session.expired events of the index entries prune() dropped.
local function emit_expired(gone, bucket, uid)
  if not ev_key then return end
  for _, m in ipairs(gone) do emit_session('session.expired', public_id(bucket, m), uid) end
end
-- After a script's events: drops the stream's entries older than the
-- retention, by whole nodes (MINID ~). sessiond asks for it (a minimum id
-- in the last argument, else '') on a stream's first write in each part of
-- the retention (redis_store.cpp), not on every write: an XTRIM costs
-- about as much as the rest of an event.
local function events_trim()
  if ev_wrote and ev_minid ~= '' then redis.call('XTRIM', ev_key, 'MINID', '~', ev_minid) end
end
