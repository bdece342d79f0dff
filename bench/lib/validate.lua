-- POST /v1/sessions/validate {"token":...}, rotating through a pool of live tokens
-- (adapted from shared/bench/validate.lua; requests pre-built in init()).
-- wrk ... -s validate.lua URL -- TOKENS_FILE [API_KEY]
local C = dofile((os.getenv("BENCH_LIB") or "bench/lib") .. "/common.lua")
setup, done = C.setup, C.done
local reqs, n, i
function init(args)
  local headers = { ["Content-Type"] = "application/json", ["X-API-Key"] = C.api_key(args[2]) }
  reqs = {}
  for _, t in ipairs(C.lines(args[1])) do
    reqs[#reqs + 1] = wrk.format("POST", "/v1/sessions/validate", headers, '{"token":"' .. t .. '"}')
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
