-- GET / with no per-request scripting (wrk's static request); only done() from common.lua,
-- for the percentiles. The nginx ceiling as in shared/bench (wrk ... URL/).
local C = dofile((os.getenv("BENCH_LIB") or "bench/lib") .. "/common.lua")
setup, done = C.setup, C.done
