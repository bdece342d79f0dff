#pragma once
// Operations endpoints: /healthz answers while the process serves HTTP,
// /readyz while the session store can be reached, /metrics in the
// Prometheus text format.

#include <cstdint>
#include <functional>
#include <string>

#include "http/router.hpp"

namespace sessiond::api {

struct ops_probes {
    std::function<bool()> store_ready;
    std::function<std::uint64_t()> open_connections;
    // More metric families (the Redis topology, the TLS certificate); may be empty.
    std::function<std::string()> extra_metrics;
    // Serve /metrics here (false when an operations listener has it).
    bool metrics = true;
};

void add_ops_routes(http::router& routes, const ops_probes& probes);

}  // namespace sessiond::api
