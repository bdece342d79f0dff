#include "http/http_metrics.hpp"

#include <algorithm>
#include <array>

namespace sessiond::metrics {

namespace {

constexpr std::array<std::string_view, 5> status_classes = {"1xx", "2xx", "3xx", "4xx", "5xx"};

// Request latency buckets in microseconds (upper bounds).
constexpr std::array<std::uint64_t, 12> latency_bounds_us = {100,    250,    500,     1000,    2500,      5000,
                                                             10'000, 25'000, 100'000, 250'000, 1'000'000, 5'000'000};

constexpr std::array<std::string_view, 1> unmatched_route = {"other"};

const counter_family responses{"sessiond_http_responses_total", "HTTP responses by status class.", type::counter,
                               "code", status_classes};

histogram_family request_duration{
    "sessiond_http_request_duration_seconds",
    "Time from request start to response written, by route template (\"other\": no route matched).",
    latency_bounds_us,
    "route",
    unmatched_route,
    max_routes - unmatched_route.size()};

}  // namespace

const counter_family connections_accepted{"sessiond_http_connections_accepted_total", "Accepted client connections."};
const counter_family connections_refused{"sessiond_http_connections_refused_total",
                                         "Connections refused at the limit."};
const counter_family connections_reclaimed{
    "sessiond_http_connections_reclaimed_total",
    "Idle keep-alive connections closed to make room for new ones at the limit."};
const counter_family tls_handshakes_failed{"sessiond_tls_handshakes_failed_total",
                                           "HTTPS connections that ended in their TLS handshake."};

std::size_t register_route(std::string_view route_template) {
    return request_duration.add_value(route_template);
}

std::size_t route_slot(std::string_view route_template) noexcept {
    return request_duration.find_value(route_template);
}

void observe_request(unsigned status, std::uint64_t duration_us, std::string_view route) noexcept {
    responses.local(std::clamp(status / 100, 1u, 5u) - 1).inc();
    request_duration.observe(duration_us, route.empty() ? 0 : route_slot(route));
}

}  // namespace sessiond::metrics
