-- GET /v1/auth with "Authorization: Bearer <token>" (forward-auth), rotating through a pool
-- of live tokens (adapted from shared/bench/auth.lua).
-- wrk ... -s auth.lua URL -- TOKENS_FILE [API_KEY]
local C = dofile((os.getenv("BENCH_LIB") or "bench/lib") .. "/common.lua")
setup, done = C.setup, C.done
local reqs, n, i
function init(args)
  local key = C.api_key(args[2])
  reqs = {}
  for _, t in ipairs(C.lines(args[1])) do
    reqs[#reqs + 1] = wrk.format("GET", "/v1/auth", { ["X-API-Key"] = key, ["Authorization"] = "Bearer " .. t }, nil)
  end
  n = #reqs
  if n == 0 then error("no tokens in " .. args[1]) end
  i = ((tid or 0) * 7919) % n
end
function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end
