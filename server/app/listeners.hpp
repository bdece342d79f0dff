#pragma once
// The HTTP listeners: the main one (a server per I/O thread on one port,
// SO_REUSEPORT) and the operations listener, their connection limits and
// routes, and the start of listening.

#include <cstddef>
#include <optional>

#include "app/threads.hpp"
#include "config/config.hpp"
#include "redis/config.hpp"

namespace sessiond::app {

// The HTTP settings with max-connections within the file descriptor limit
// (raised as far as it goes): every connection holds a descriptor, and a
// client beyond the limit would hang on EMFILE instead of getting a 503.
http_config connection_limits(const config& cfg, const std::optional<redis::config>& redis_cfg, std::size_t threads);

// Each thread's routes and HTTP server (with io.http_cfg), and the
// operations listener's.
void add_servers(io_threads& io);

// The ports the listeners got (0: no operations listener).
struct ports {
    unsigned short main = 0;
    unsigned short ops = 0;
};

// Starts listening; none, the error logged, when a port cannot be bound.
std::optional<ports> listen(io_threads& io);

}  // namespace sessiond::app
