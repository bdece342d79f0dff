#include "app/listeners.hpp"

#include <algorithm>
#include <exception>

#include "api/health.hpp"
#include "common/fd_limit.hpp"
#include "log/log.hpp"

namespace sessiond::app {

namespace {

// Per I/O thread: the connections to each node (a cluster's primaries, at
// least three), and a Sentinel's two links to a sentinel.
std::size_t redis_descriptors(const config& cfg, const std::optional<redis::config>& redis_cfg) {
    if (!redis_cfg) return 0;
    const std::size_t per_node = std::max<std::size_t>(1, cfg.store.redis_connections);
    const bool cluster = redis_cfg->mode == redis::topology::cluster;
    const std::size_t nodes = cluster ? std::max<std::size_t>(3, redis_cfg->seeds.size()) : 1;
    return per_node * nodes + (redis_cfg->mode == redis::topology::sentinel ? 2 : 0);
}

}  // namespace

http_config connection_limits(const config& cfg, const std::optional<redis::config>& redis_cfg, std::size_t threads) {
    http_config http_cfg = cfg.http;
    auto fds = raise_fd_limit();
    const std::size_t reserved =
        16 + threads * (8 + redis_descriptors(cfg, redis_cfg) + http::server::spare_descriptors);
    http_cfg.max_connections = connections_within(cfg.http.max_connections, fds.soft, reserved);
    if (http_cfg.max_connections < cfg.http.max_connections)
        log::warn("the file descriptor limit is too low for max-connections: connections capped",
                  {{"fd_limit", fds.soft},
                   {"fd_hard_limit", fds.hard},
                   {"max_connections", cfg.http.max_connections},
                   {"effective_max_connections", http_cfg.max_connections}});
    return http_cfg;
}

void add_servers(io_threads& io) {
    const config& cfg = io.cfg;
    const bool ops_listener = cfg.http.ops_port != 0;
    const api::ops_probes probes{[&io] { return io.store_ready(); }, !ops_listener};
    const server_parts parts{io.http_cfg, cfg.log.access_log, io.open_connections, io.per_client, io.tls};
    for (auto& w : io.workers)
        add_server(*w, probes, parts);
    if (ops_listener) {
        io.ops.cfg = io.http_cfg;
        io.ops.cfg.address = cfg.http.ops_address;
        io.ops.cfg.max_connections = 64;
        auto ops_probes = probes;
        ops_probes.metrics = true;
        api::add_ops_routes(io.ops.routes, ops_probes);
        io.ops.server = std::make_unique<http::server>(io.workers[0]->ioc, io.ops.cfg, io.ops.routes, false,
                                                       io.ops.open, io.ops.per_client);
    }
}

std::optional<ports> listen(io_threads& io) {
    const config& cfg = io.cfg;
    ports out;
    try {
        for (auto& w : io.workers) {
            if (out.main == 0) {
                w->server->start(std::nullopt, io.workers.size() > 1);
                out.main = w->server->port();
            } else {
                w->server->start(out.main, true);
            }
        }
    } catch (const std::exception& e) {
        log::error("cannot listen", {{"address", cfg.http.address}, {"port", cfg.http.port}, {"error", e.what()}});
        return std::nullopt;
    }
    if (io.ops.server) {
        try {
            io.ops.server->start(cfg.http.ops_port);
            out.ops = io.ops.server->port();
        } catch (const std::exception& e) {
            log::error("cannot listen",
                       {{"address", cfg.http.ops_address}, {"port", cfg.http.ops_port}, {"error", e.what()}});
            return std::nullopt;
        }
    }
    return out;
}

}  // namespace sessiond::app
