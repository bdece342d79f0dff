-- POST /v1/sessions/rotate {"token":...}: every token is rotated exactly once; the new
-- token from the reply goes back into this thread's queue (a session is rotated again
-- once the queue has cycled). Starts from POOL_FILE (fresh tokens, this thread takes
-- every BENCH_THREADS-th line; it needs more than connections/threads of them).
-- Against a server that returns no token (nginx) it cycles through the pool.
-- wrk ... -s rotate.lua URL -- POOL_FILE [API_KEY]
local C = dofile((os.getenv("BENCH_LIB") or "bench/lib") .. "/common.lua")
setup, done = C.setup, C.done
C.counters = { "lost" }
local headers, pool, q, head, tail, k
lost = 0
function init(args)
  headers = { ["Content-Type"] = "application/json", ["X-API-Key"] = C.api_key(args[2]) }
  pool = C.lines(args[1], true)
  if #pool == 0 then error("no tokens for thread " .. tostring(tid) .. " in " .. args[1]) end
  q, head, tail, k = {}, 1, 0, 0
  for _, t in ipairs(pool) do tail = tail + 1; q[tail] = t end
end
function request()
  if C.is_verify_call() then return C.verify_req end
  local t
  if head <= tail then
    t = q[head]; q[head] = nil; head = head + 1
  else
    lost = lost + 1 -- queue ran dry: reuse a pool token (normal only for nginx)
    k = k % #pool + 1; t = pool[k]
  end
  return wrk.format("POST", "/v1/sessions/rotate", headers, '{"token":"' .. t .. '"}')
end
function response(status, hdrs, body)
  if status == 200 and body then
    local t = string.match(body, '"token":"([^"]+)"')
    if t then tail = tail + 1; q[tail] = t end
  end
end
