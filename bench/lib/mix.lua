-- Mixed traffic, in every 20 requests: 18 validate (pool of live tokens), 1 create,
-- 1 revoke. A revoke takes the oldest token this thread created (from the 201 replies),
-- so the store keeps its size; while none is available (start of the run, or nginx) it
-- revokes a token of REVOKE_POOL (already-revoked tokens are fine: revoke is idempotent,
-- 204). Counters of each kind are reported.
-- wrk ... -s mix.lua URL -- TOKENS_FILE REVOKE_POOL [API_KEY] [USERS]
local C = dofile((os.getenv("BENCH_LIB") or "bench/lib") .. "/common.lua")
setup, done = C.setup, C.done
C.counters = { "n_validate", "n_create", "n_revoke", "n_revoke_pool" }
n_validate, n_create, n_revoke, n_revoke_pool = 0, 0, 0, 0
local vreqs, nv, vi, creqs, nc, ci, rpool, ri, jsonh, q, head, tail, k
function init(args)
  jsonh = { ["Content-Type"] = "application/json", ["X-API-Key"] = C.api_key(args[3]) }
  vreqs = {}
  for _, t in ipairs(C.lines(args[1])) do
    vreqs[#vreqs + 1] = wrk.format("POST", "/v1/sessions/validate", jsonh, '{"token":"' .. t .. '"}')
  end
  nv = #vreqs
  vi = ((tid or 0) * 7919) % nv
  creqs = {}
  for u = 1, tonumber(args[4] or "1000") do
    creqs[u] = wrk.format("POST", "/v1/sessions", jsonh,
      string.format('{"user_id":"bench-user-%05d","metadata":{"ip":"127.0.0.1","ua":"wrk"}}', u))
  end
  nc = #creqs
  ci = ((tid or 0) * 7919) % nc
  rpool = {}
  for _, t in ipairs(C.lines(args[2], true)) do
    rpool[#rpool + 1] = wrk.format("POST", "/v1/sessions/revoke", jsonh, '{"token":"' .. t .. '"}')
  end
  ri = 0
  q, head, tail, k = {}, 1, 0, 0
end
function request()
  k = k + 1
  local slot = k % 20
  if slot == 10 then
    n_create = n_create + 1
    ci = ci % nc + 1
    return creqs[ci]
  elseif slot == 0 then
    n_revoke = n_revoke + 1
    if head <= tail then
      local t = q[head]; q[head] = nil; head = head + 1
      return wrk.format("POST", "/v1/sessions/revoke", jsonh, '{"token":"' .. t .. '"}')
    end
    n_revoke_pool = n_revoke_pool + 1
    ri = ri % #rpool + 1
    return rpool[ri]
  end
  n_validate = n_validate + 1
  vi = vi % nv + 1
  return vreqs[vi]
end
function response(status, hdrs, body)
  if status == 201 and body then
    local t = string.match(body, '"token":"([^"]+)"')
    if t then tail = tail + 1; q[tail] = t end
  end
end
