-- POST /v1/sessions over USERS user ids (adapted from shared/bench/create.lua).
-- Body: {"user_id":"bench-user-NNNNN","metadata":{"ip":"127.0.0.1","ua":"wrk"}}
-- wrk ... -s create.lua URL -- [API_KEY] [USERS]
local C = dofile((os.getenv("BENCH_LIB") or "bench/lib") .. "/common.lua")
setup, done = C.setup, C.done
local reqs, n, i
function init(args)
  local headers = { ["Content-Type"] = "application/json", ["X-API-Key"] = C.api_key(args[1]) }
  reqs = {}
  for u = 1, tonumber(args[2] or "1000") do
    local body = string.format('{"user_id":"bench-user-%05d","metadata":{"ip":"127.0.0.1","ua":"wrk"}}', u)
    reqs[u] = wrk.format("POST", "/v1/sessions", headers, body)
  end
  n = #reqs
  i = ((tid or 0) * 7919) % n
end
function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end
