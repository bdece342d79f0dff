#pragma once
// Liveness and readiness: /healthz answers while the process serves HTTP,
// /readyz while the session store can be reached.

#include <functional>

#include "http/router.hpp"

namespace sessiond::api {

void add_health_routes(http::router& routes, std::function<bool()> store_ready);

}  // namespace sessiond::api
