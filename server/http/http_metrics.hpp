#pragma once
// The HTTP layer's metric families: responses, request latency by route
// template, connections, TLS handshakes.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/metrics.hpp"

namespace sessiond::metrics {

extern const counter_family connections_accepted;
extern const counter_family connections_refused;
extern const counter_family connections_reclaimed;  // idle keep-alive connections closed to make room
extern const counter_family tls_handshakes_failed;  // HTTPS connections that ended in their handshake

// Request latency is kept per route template: routes are registered once
// (register_route, by the router as routes are added), at most max_routes;
// series 0 is every request no registered route matched.
inline constexpr std::size_t max_routes = 32;

// The series of a route template (any thread; at start-up): 0 when all are taken.
std::size_t register_route(std::string_view route_template);
// The series a registered route has, else 0.
std::size_t route_slot(std::string_view route_template) noexcept;

// A response written: its status class and its latency by route.
void observe_request(unsigned status, std::uint64_t duration_us, std::string_view route = {}) noexcept;

}  // namespace sessiond::metrics
