-- Shared by the wrk scripts in this folder (loaded with dofile from each of them).
-- Provides: thread ids (tid, nthreads from env BENCH_THREADS), token-file loading,
-- and a done() that prints one machine-readable line:
--   BENCHJSON {"requests":..,"duration_us":..,"p50_us":..,"p99_us":..,"p999_us":..,...}
-- wrk's own text output (Requests/sec, "Non-2xx or 3xx responses", socket errors)
-- is printed as usual and parsed too (lib/measure.py).
local C = {}

local setup_count, threads = 0, {}
function C.setup(thread)
  thread:set("tid", setup_count)
  setup_count = setup_count + 1
  threads[#threads + 1] = thread
end

C.nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")

-- wrk 4.1 calls request() once in thread 0 before the run starts, to count the requests
-- in the string (script_verify_request), and throws the result away. Scripts whose
-- requests must each be sent once (seed, rotate) call C.is_verify_call() first in
-- request() and answer that call with this harmless request.
function C.is_verify_call()
  if verify_done then return false end
  verify_done = true
  return (tid or 0) == 0
end
C.verify_req = "GET /readyz HTTP/1.1\r\nHost: bench\r\n\r\n"

function C.api_key(v) return v or os.getenv("API_KEY") or "bench-api-key-not-secret" end

-- Lines of FILE (non-empty), optionally only those of this thread (every nthreads-th).
function C.lines(file, mine_only)
  local out, k = {}, 0
  for line in io.lines(file) do
    if #line > 0 then
      if not mine_only or k % C.nthreads == (tid or 0) then out[#out + 1] = line end
      k = k + 1
    end
  end
  return out
end

-- Extra per-thread counters a script wants reported (global names, numbers).
C.counters = {}

function C.done(summary, latency, requests)
  local e = summary.errors
  local parts = {
    string.format('"requests":%d', summary.requests),
    string.format('"duration_us":%d', summary.duration),
    string.format('"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d',
      e.connect, e.read, e.write, e.status, e.timeout),
    string.format('"lat_mean_us":%.1f,"lat_max_us":%d', latency.mean, latency.max),
  }
  for _, q in ipairs({ { "p50", 50 }, { "p90", 90 }, { "p99", 99 }, { "p999", 99.9 }, { "p9999", 99.99 } }) do
    parts[#parts + 1] = string.format('"%s_us":%d', q[1], latency:percentile(q[2]))
  end
  local names = {}
  for _, n in ipairs(C.counters) do names[#names + 1] = n end
  for _, n in ipairs(names) do
    local sum, any = 0, false
    for _, t in ipairs(threads) do
      local v = t:get(n)
      if type(v) == "number" then sum = sum + v; any = true end
    end
    if any then parts[#parts + 1] = string.format('"%s":%d', n, sum) end
  end
  io.write("BENCHJSON {" .. table.concat(parts, ",") .. "}\n")
end

return C
