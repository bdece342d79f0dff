#pragma once
// Operations endpoints: /healthz answers while the process serves HTTP,
// /readyz while the session store can be reached, /metrics in the
// Prometheus text format.

#include <functional>

#include "http/router.hpp"

namespace sessiond::api {

struct ops_probes {
    std::function<bool()> store_ready;
    // Serve /metrics here (false when an operations listener has it).
    bool metrics = true;
};

void add_ops_routes(http::router& routes, const ops_probes& probes);

}  // namespace sessiond::api
