-- POST /v1/assertions (mint a signed assertion from a session), rotating through a pool
-- of live tokens. wrk ... -s mint.lua URL -- TOKENS_FILE AUDIENCE [API_KEY]
local C = dofile((os.getenv("BENCH_LIB") or "bench/lib") .. "/common.lua")
setup, done = C.setup, C.done
local reqs, n, i
function init(args)
  local headers = { ["X-API-Key"] = C.api_key(args[3]), ["Content-Type"] = "application/json" }
  reqs = {}
  for _, t in ipairs(C.lines(args[1])) do
    reqs[#reqs + 1] = wrk.format("POST", "/v1/assertions", headers,
      '{"token":"' .. t .. '","audience":"' .. args[2] .. '"}')
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
