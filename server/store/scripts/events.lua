-- The prelude of the scripts that append session events (redis_store.cpp
-- puts it before each, after prelude.lua where there is one). An event is
-- appended in the same script as the change it reports, so Redis applies
-- both or neither: no change without its event, no event without its change.
--
-- With events on, a script is given its stream as the KEYS entry after its
-- own ("<prefix>{<bucket>}:ev", the slot of its other keys) and, after its
-- own ARGV: this instance's name, the caller's, the stream's length bound
-- and its retention (ms). Without them (events off) emit does nothing.
--
-- An entry's fields have one-letter names: t type, s the session's public
-- id, u user id, i instance, c caller, r reason (session.revoked), e tenant
-- ('*' for everyone) and n the instant (epoch.changed), k a count
-- (user.sessions_revoked). Its time is its id's milliseconds (Redis' clock).
-- Never a token, a secret or a digest.

local EV = nil
local function events_from(k, a)
  if KEYS[k] and ARGV[a + 3] then
    EV = {key = KEYS[k], i = ARGV[a], c = ARGV[a + 1], max = ARGV[a + 2], keep = tonumber(ARGV[a + 3])}
  end
end
-- Appends an event of type t with the field pairs given (those whose value
-- is '' or nil left out). The caller's name goes with every event but
-- session.expired, which nobody asked for.
local function emit(t, ...)
  if not EV then return end
  local f = {'t', t, 'i', EV.i}
  if EV.c ~= '' and t ~= 'session.expired' then
    f[#f + 1] = 'c'
    f[#f + 1] = EV.c
  end
  local extra = {...}
  for j = 1, #extra, 2 do
    local v = extra[j + 1]
    if v and v ~= '' then
      f[#f + 1] = extra[j]
      f[#f + 1] = v
    end
  end
  EV.last = redis.call('XADD', EV.key, 'MAXLEN', '~', EV.max, '*', unpack(f))
end
-- After a script's events: drops the stream's entries older than the
-- retention, by whole nodes (MINID ~), which costs next to nothing when the
-- first node is younger than that.
local function events_trim()
  if not EV or not EV.last then return end
  local ms = tonumber(string.match(EV.last, '^(%d+)'))
  redis.call('XTRIM', EV.key, 'MINID', '~', ms - EV.keep)
end
