-- Creates exactly COUNT sessions per wrk thread through POST /v1/sessions, then stops wrk.
-- Used to seed token pools and to fill Redis for the memory measurement.
-- wrk -t2 -c64 -d600s -s seed.lua URL -- COUNT META PER_USER OUT_PREFIX [API_KEY]
--   META      0: no metadata; "small": {"ip":"127.0.0.1","ua":"wrk"} (as create.lua);
--             N >= 9: {"d":"xxx..."} serialised to exactly N bytes
--   PER_USER  sessions per user id; user ids bench-m-<tid>-<NNNNNNN>, distinct over threads
--   OUT_PREFIX  tokens go to OUT_PREFIX.tokens.<tid> (one a line); OUT_PREFIX.done.<tid>
--             marks a finished thread. wrk itself always runs for its -d: the last thread
--             to finish sends SIGINT to wrk, which then ends at once and prints its summary.
-- Once COUNT creates are sent, further requests are GET /readyz (no effect) until the
-- COUNT-th create reply arrived. Non-201 create replies are counted as "failed".
local C = dofile((os.getenv("BENCH_LIB") or "bench/lib") .. "/common.lua")
setup, done = C.setup, C.done
C.counters = { "created", "failed" }
created, failed = 0, 0
local ffi = require("ffi")
pcall(ffi.cdef, "int getpid(void); int kill(int pid, int sig);")
local count, meta, per_user, prefix, out, headers, sent, ready_req, keep
function init(args)
  count = tonumber(args[1])
  local mb = args[2] or "0"
  per_user = tonumber(args[3] or "1")
  prefix = args[4]
  keep = os.getenv("BENCH_SEED_KEEP_TOKENS") ~= "0"
  if keep then out = assert(io.open(prefix .. ".tokens." .. tostring(tid or 0), "w")) end
  headers = { ["Content-Type"] = "application/json", ["X-API-Key"] = C.api_key(args[5]) }
  if mb == "small" then
    meta = ',"metadata":{"ip":"127.0.0.1","ua":"wrk"}'
  elseif tonumber(mb) > 0 then
    meta = ',"metadata":{"d":"' .. string.rep("x", tonumber(mb) - 8) .. '"}'
  else
    meta = ""
  end
  sent = 0
  ready_req = wrk.format("GET", "/readyz", nil, nil)
  if count == 0 then finish() end
end
function finish()
  if out then out:close(); out = nil end
  local f = assert(io.open(prefix .. ".done." .. tostring(tid or 0), "w")); f:close()
  local all = true
  for t = 0, C.nthreads - 1 do
    local g = io.open(prefix .. ".done." .. t, "r")
    if g then g:close() else all = false end
  end
  if all then ffi.C.kill(ffi.C.getpid(), 2) end
  wrk.thread:stop()
end
function request()
  if C.is_verify_call() or sent >= count then return ready_req end
  local body = string.format('{"user_id":"bench-m-%d-%07d"%s}', tid or 0, math.floor(sent / per_user), meta)
  sent = sent + 1
  return wrk.format("POST", "/v1/sessions", headers, body)
end
function response(status, hdrs, body)
  if status == 200 then return end -- /readyz
  if status == 201 then
    created = created + 1
    if out then out:write(string.match(body, '"token":"([^"]+)"'), "\n") end
  else
    failed = failed + 1
  end
  if created + failed == count then finish() end
end
