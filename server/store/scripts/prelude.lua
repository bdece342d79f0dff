-- The prelude of the scripts that reach sessions through a user's index
-- (create, replace, list, remove_user) and of remove: redis_store.cpp puts
-- it before each.
--
-- Index members are the 16 random bytes of each session id (not its
-- 24-character public id: two members then fit a 64-byte listpack). Scripts
-- that reach sessions through the index rebuild each session key from the
-- session key prefix "<prefix>{<bucket>}:s:" and the bucket's two bytes
-- (big-endian, as in the public id) with session_key below.
--
-- Two users of one bucket share an index if their index names (keyed hashes:
-- see keyring::user_index_name) collide, so these scripts also read the user
-- id from each record's header and act only on the sessions of the user they
-- were called for: another user's session in the index is neither returned,
-- counted, evicted nor deleted.
--
-- Every script touches only keys of one hash slot: the declared keys', and
-- session keys built from the same "<prefix>{<bucket>}:" they start with.

-- prefix .. base64url(bucket .. m): 18 bytes, exactly 24 characters, as
-- session_id::to_string spells them. nil for a member that is no id.
local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
local function public_id(bucket, m)
  if #m ~= 16 or #bucket ~= 2 then return nil end
  local s, c = bucket .. m, {}
  for i = 1, 18, 3 do
    local a, b, d = string.byte(s, i, i + 2)
    local n = a * 65536 + b * 256 + d
    c[#c + 1] = string.byte(B64, math.floor(n / 262144) + 1)
    c[#c + 1] = string.byte(B64, math.floor(n / 4096) % 64 + 1)
    c[#c + 1] = string.byte(B64, math.floor(n / 64) % 64 + 1)
    c[#c + 1] = string.byte(B64, n % 64 + 1)
  end
  return string.char(unpack(c))
end
local function session_key(prefix, bucket, m)
  local id = public_id(bucket, m)
  return id and prefix .. id
end
-- The header every record format from 2 on starts with (see
-- store/record_codec.hpp): format byte, flags byte, version (LEB128 varint),
-- user id length (varint, at most 256), user id. Returns the version and the
-- user id, or nil for a value that has no such header.
local function header(v)
  local f = string.byte(v, 1)
  if not f or f < 2 then return nil end
  local i, version, scale = 3, 0, 1
  repeat
    local b = string.byte(v, i)
    if not b or i > 12 then return nil end
    i = i + 1
    version = version + (b % 128) * scale
    scale = scale * 128
  until b < 128
  local n
  n, scale = 0, 1
  repeat
    local b = string.byte(v, i)
    if not b or scale > 128 then return nil end
    i = i + 1
    n = n + (b % 128) * scale
    scale = scale * 128
  until b < 128
  if n > 256 or i + n - 1 > #v then return nil end
  return version, string.sub(v, i, i + n - 1)
end
-- Whether record v belongs to the user id uid (a record of any format).
local function owned(v, uid)
  local _, u = header(v)
  return u == uid
end
-- Drops index entries whose deadline has passed, at most 1024 a call (the
-- rest go on later calls, or with the index's own expiry). "Passed" by
-- Redis' clock, which also expires the session keys: an instance whose
-- clock runs ahead must not drop live sessions from their index. Returns
-- the members dropped.
local function prune(index)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local gone = redis.call('ZRANGE', index, '-inf', now, 'BYSCORE', 'LIMIT', 0, 1024)
  if #gone > 0 then redis.call('ZREM', index, unpack(gone)) end
  return gone
end
-- Whether member a sorts after member b among equal scores: bytewise, as
-- Redis orders them (Lua's own string order follows the locale).
local function sorts_after(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return #a > #b
end
-- The rank of the first index entry after the cursor (score, member),
-- whether or not the cursor's own entry is still there: O(log n) calls.
local function rank_after(index, score, member)
  local lo = redis.call('ZCOUNT', index, '-inf', '(' .. score)
  local hi = redis.call('ZCOUNT', index, '-inf', score)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if sorts_after(redis.call('ZRANGE', index, mid, mid)[1], member) then hi = mid else lo = mid + 1 end
  end
  return lo
end
-- Up to `walk` entries {member, score, ...} after the cursor (from the
-- start when its score is '').
local function window(index, score, member, walk)
  local first = 0
  if score ~= '' then first = rank_after(index, score, member) end
  return redis.call('ZRANGE', index, first, first + walk - 1, 'WITHSCORES')
end
