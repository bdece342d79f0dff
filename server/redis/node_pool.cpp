#include "redis/node_pool.hpp"

#include <functional>

#include "common/coarse_clock.hpp"
#include "redis/redis_metrics.hpp"
#include "redis/error.hpp"

namespace sessiond::redis {

node_pool::node_pool(boost::asio::io_context& ioc, std::shared_ptr<const connection_settings> settings, endpoint where,
                     std::size_t connections, const std::weak_ptr<connection_observer>& observer)
    : io_ex_(ioc.get_executor()),
      settings_(std::move(settings)),
      where_(std::move(where)),
      wait_(command::keyless("WAIT", settings_->cfg.wait_replicas, settings_->cfg.wait_timeout.count())) {
    connections_.reserve(connections);
    for (std::size_t i = 0; i < connections; ++i)
        connections_.push_back(std::make_shared<connection>(ioc, settings_, where_, i, observer));
}

node_pool::~node_pool() = default;

void node_pool::start() {
    for (auto& c : connections_)
        c->start();
}

void node_pool::stop() {
    for (auto& c : connections_)
        c->stop();
}

bool node_pool::ready() const noexcept {
    for (const auto& c : connections_)
        if (c->ready()) return true;
    return false;
}

boost::system::error_code node_pool::last_error() const {
    for (const auto& c : connections_)
        if (auto ec = c->last_error()) return ec;
    return {};
}

connection::clock::time_point command_deadline(std::chrono::milliseconds timeout) noexcept {
    return timeout.count() > 0 ? coarse_steady_now() + timeout : connection::clock::time_point::max();
}

node_pool::clock::time_point node_pool::deadline() const noexcept {
    return command_deadline(settings_->cfg.command_timeout);
}

template <class Push>
boost::system::error_code node_pool::spread(std::string_view route, Push&& push) {
    const std::size_t n = connections_.size();
    if (n == 0) return make_error_code(error::not_connected);
    const std::size_t home = !route.empty() ? std::hash<std::string_view>{}(route) % n : next_++ % n;
    boost::system::error_code first;
    bool any_busy = false;
    for (std::size_t i = 0; i < n; ++i) {
        const auto ec = push(*connections_[(home + i) % n]);
        if (!ec) return {};
        if (i == 0) first = ec;
        any_busy = any_busy || ec == error::busy;
    }
    return any_busy ? make_error_code(error::busy) : first;
}

boost::system::error_code node_pool::submit(const command& cmd, std::string_view route, detail::completion& done,
                                            clock::time_point deadline, bool durable) {
    if (durable && settings_->cfg.wait_replicas > 0)
        return spread(route, [&](connection& c) { return submit_durable(c, cmd, done, deadline); });
    return spread(route, [&](connection& c) { return c.submit(cmd, done, deadline); });
}

// WAIT counts the replicas that have every write of its own connection: it
// must follow the write on the connection that sent it.
boost::system::error_code node_pool::submit_durable(connection& c, const command& cmd, detail::completion& done,
                                                    clock::time_point deadline) {
    struct written {
        boost::system::error_code ec;
        reply r;
    };
    auto w = std::make_shared<written>();
    detail::completion first([w](const boost::system::error_code& ec, reply r) {
        w->ec = ec;
        w->r = std::move(r);
    });
    if (auto ec = c.submit(cmd, first, deadline)) return ec;
    const auto replicas = static_cast<long long>(settings_->cfg.wait_replicas);
    detail::completion then([w, replicas, ex = io_ex_, done = std::move(done)](const boost::system::error_code& ec,
                                                                               const reply& acks) mutable {
        if (w->ec) return done.complete(w->ec, std::move(w->r), ex);  // nothing written: the write's own answer
        // Not acknowledged in time, or not known to be (WAIT refused, the
        // connection lost): the write may be undone by a failover.
        if (ec || !acks.is_integer() || acks.integer() < replicas) {
            metrics::redis_writes_unacknowledged.inc();
            return done.complete(make_error_code(error::not_acknowledged), std::move(w->r), ex);
        }
        done.complete({}, std::move(w->r), ex);
    });
    // The write is queued: a WAIT refused now (the in-flight bound reached in
    // between) answers as unacknowledged.
    if (c.submit(wait_, then, deadline)) then.post(make_error_code(error::not_acknowledged), io_ex_);
    return {};
}

boost::system::error_code node_pool::submit_after(const command& first, const command& cmd, std::string_view route,
                                                  detail::completion& done, clock::time_point deadline) {
    return spread(route, [&](connection& c) {
        detail::completion ignore([](const boost::system::error_code&, const reply&) {});
        if (auto ec = c.submit(first, ignore, deadline)) return ec;
        return c.submit(cmd, done, deadline);
    });
}

}  // namespace sessiond::redis
